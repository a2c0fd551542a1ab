#pragma once
// Adaptive batching (docs/settings.md#adaptive-batching): one Batcher per Dispatcher, so per
// HTTP loop; loop thread only. A request of a batching model is decoded into the lane arena of its
// model's open batch's worker and joins a batch it may merge with (batch_rules.hpp). A batch
// leaves when it holds max_batch_size rows, max_batch_time after its first member joined, or as
// soon as its worker has nothing in flight (checked at the end of the loop's turn, so requests read
// in the same turn still join): requests gather only while the worker is busy, so a request that
// finds its worker idle is sent at once (no wait when requests come one at a time, and under load
// each batch holds what arrived during the previous predict).
//
// The copy: each member is decoded into blocks of its own, and the flush copies the members' rows
// into one block per input (the only copy; a batch of one is sent as it is, without it). Decoding
// straight into a shared batch buffer would need to know, before the body is parsed, which batch a
// request joins (its input names, shapes and datatypes decide that) and how many bytes its rows
// take (unknown for BYTES and JSON bodies); a body that fails to decode would leave a hole in the
// middle of the batch. A memcpy of a small request costs nanoseconds against microseconds of
// parsing, and the members' own views are kept as slices of the merged blocks, so the one-by-one
// retry after a bad-input failure costs no second copy.
//
// Ownership: open batches are owned here; a sent batch (Sent) is owned by its lane completion and
// by the retries it starts, and holds its merged input blocks until the last of them answers.
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "supervisor/core/lane_client.hpp"
#include "supervisor/core/loop_lanes.hpp"
#include "supervisor/core/request_arena.hpp"
#include "supervisor/dispatch/call.hpp"
#include "supervisor/dispatch/target.hpp"

namespace ringserve::supervisor::dispatch {

class Batcher {
 public:
  using Call = Dispatcher::Call;
  Batcher(Dispatcher& dispatcher, EventLoop& loop, LoopLanes& lanes);
  ~Batcher();
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // Where a request of batching model `model` is decoded: chooseWorker's choice when that worker
  // is idle, else the worker of the model's open batch while one is open and that worker lives.
  BasicResult<Target, Error> target(const ModelRoute& model, const std::string& version);

  // A decoded request of `rows` rows (1..max_batch_size), its blocks in `arena` on target.lane,
  // joins a batch. From here the batcher owns the call's in-flight count and answers it exactly once
  // through the dispatcher (complete / answer / abort).
  void join(std::shared_ptr<Call> call, codec::DecodedRequest request, RequestArena arena, std::uint64_t rows,
            const Target& target);

  // A request on `lane` was answered (called after its completion): batches whose worker has
  // nothing in flight any more leave at the end of this turn.
  void workerAnswered(LaneClient& lane);

 private:
  struct Member {
    std::shared_ptr<Call> call;
    codec::DecodedRequest request;  // after the flush: its inputs are slices of the merged blocks
    RequestArena arena;             // its own blocks, until the flush copies them
    std::uint64_t rows = 0;
    Clock::time_point joined;
  };
  struct Open;
  struct Sent;

  static void onTimer(evutil_socket_t, short, void* open);
  void flushIdleAtEndOfTurn();
  void flushIdle();  // every open batch whose worker has nothing in flight
  void flush(Open& open);
  void submitMerged(Open& open, std::vector<Member> live);
  void sendAlone(const std::shared_ptr<LaneClient>& lane, const RouteTarget& route, Member& m);
  void completeMerged(const std::shared_ptr<Sent>& sent, Completion& c);
  void retryAlone(const std::shared_ptr<Sent>& sent);

  Dispatcher& d_;
  EventLoop& loop_;
  LoopLanes& lanes_;
  // Open batches per model version (its counters outlive republished routing tables), in the
  // order they opened: a request joins the first it may merge with.
  std::unordered_map<const ModelCounters*, std::vector<std::unique_ptr<Open>>> open_;
  std::shared_ptr<Batcher*> alive_;  // end-of-turn hooks hold it weakly: they may outlive this
};

}  // namespace ringserve::supervisor::dispatch
