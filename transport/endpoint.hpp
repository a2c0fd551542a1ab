#pragma once
// The two ends of a worker's segment.
//
// SupervisorLane: one supervisor event-loop thread's end of lane k. It produces the request ring,
// consumes the response ring, allocates from lane k's request arena, and sleeps in its event loop
// on an eventfd. WorkerEndpoint: the worker's end of every lane, consuming all request rings,
// producing all response rings, allocating from the response arena, sleeping on a futex.
//
// Wake-up protocol (Dekker-style, seq_cst on both sides, so no wake is lost and none is wasted
// on a peer that is awake):
//   worker:  seq = wake_seq; sleeping = 1; re-check rings; if empty futex_wait(wake_seq, seq)
//   lane:    push...; flush(): head += 0 (seq_cst RMW); if exchange(sleeping, 0) == 1 { ++wake_seq; futex_wake }
//   lane:    going idle: loop_waiting = 1; re-check response ring
//   worker:  push...; flush(): for each lane pushed to, head += 0; if exchange(loop_waiting, 0) == 1 notify eventfd
// (no fences: ThreadSanitizer cannot model them; the seq_cst RMWs give the same store-load order)
// A lane posts several requests per event-loop turn and flushes once, and the worker answers
// everything it found before flushing once, so wake-ups are batched in both directions.
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "transport/arena.hpp"
#include "transport/frame.hpp"
#include "transport/ring.hpp"
#include "transport/segment.hpp"

namespace ringserve::transport {

class SupervisorLane {
 public:
  // `eventFd` is the lane's eventfd; the lane does not own it (the worker launcher does).
  SupervisorLane(const Segment& segment, std::uint32_t lane, int eventFd);

  Result<std::uint64_t> allocate(std::uint64_t bytes) { return arena_.allocate(bytes); }
  void free(std::uint64_t offset) { arena_.free(offset); }
  ArenaAllocator& arena() { return arena_; }
  // Our own allocation: trusted, no check needed beyond the allocator's.
  std::byte* at(std::uint64_t offset) const { return segment_->base() + offset; }

  // Publishes a descriptor without waking the worker; false when the ring is full.
  bool post(const Descriptor& d);
  // Wakes the worker if it may be asleep and something was posted since the last flush.
  void flush();

  // Takes the next response; Ok(false) when there is none, an error if the worker corrupted the ring.
  Result<bool> next(Descriptor& out) { return responses_.tryPop(out); }
  // Before the loop goes back to sleep: asks for an eventfd wake-up and re-checks. True when it is
  // safe to sleep; false when a response arrived meanwhile (call next() again).
  bool armWait();
  int eventFd() const { return eventFd_; }
  // futex wake-ups this lane has sent the worker (benchmarks and metrics: with several requests in
  // flight it should stay well below one per request).
  std::uint64_t wakeupsSent() const { return wakeups_; }

  // A checked view of a block the worker wrote into the response arena.
  Result<std::span<const std::byte>> peerView(std::uint64_t offset, std::uint64_t len) const;
  // The InferResponse frame of a `response` descriptor, bounds-checked against the response arena
  // (an error for any other kind, or for a response that carries error_code and no frame).
  Result<FrameReader> responseFrame(const Descriptor& d) const;
  const Segment& segment() const { return *segment_; }
  std::uint32_t index() const { return lane_; }
  std::uint64_t requestsPending() const { return requests_.pending(); }

 private:
  const Segment* segment_;
  std::uint32_t lane_;
  int eventFd_;
  RingProducer requests_;
  RingConsumer responses_;
  ArenaAllocator arena_;
  bool posted_ = false;
  std::uint64_t wakeups_ = 0;
};

class WorkerEndpoint {
 public:
  // `laneEventFds[k]` is the eventfd of lane k, inherited from the supervisor.
  WorkerEndpoint(const Segment& segment, std::vector<int> laneEventFds);

  // Takes the next request from any lane, round-robin. Ok(false) when every ring is empty.
  Result<bool> next(Descriptor& out, std::uint32_t& lane);
  // Blocks until a request may be waiting: spins up to `spinNs` (cheap when the supervisor is
  // about to post more), then sleeps on the futex for up to `timeoutNs` (negative = forever).
  void wait(std::uint64_t spinNs, std::int64_t timeoutNs);
  // Wakes whatever is blocked in wait() (shutdown from another thread of the worker). Safe to call
  // from any thread; a call that lands just before wait() makes that wait() return at once.
  void interrupt();

  // Publishes a response on `lane` (never full while the lane keeps its in-flight bound; if it
  // is, this yields until there is room). Does not wake the lane's loop: flush() does.
  void respond(std::uint32_t lane, const Descriptor& d);
  void flush();

  ArenaAllocator& arena() { return arena_; }
  std::byte* at(std::uint64_t offset) const { return segment_->base() + offset; }
  // A checked view of a block lane k wrote into its request arena.
  Result<std::span<const std::byte>> peerView(std::uint32_t lane, std::uint64_t offset, std::uint64_t len) const;
  // The InferRequest frame of an `infer` descriptor taken from `lane`, bounds-checked against that
  // lane's request arena (an error for any other kind).
  Result<FrameReader> requestFrame(std::uint32_t lane, const Descriptor& d) const;
  std::uint32_t laneCount() const { return static_cast<std::uint32_t>(requests_.size()); }
  const Segment& segment() const { return *segment_; }
  void recordProgress();

  // eventfd notifications sent to lanes, and the times wait() went to sleep on the futex.
  std::uint64_t wakeupsSent() const { return wakeups_; }
  std::uint64_t sleeps() const { return sleeps_; }

 private:
  bool anyPending() const;

  const Segment* segment_;
  std::vector<int> eventFds_;
  std::vector<RingConsumer> requests_;
  std::vector<RingProducer> responses_;
  std::vector<char> respondedTo_;
  ArenaAllocator arena_;
  std::uint32_t nextLane_ = 0;
  std::uint64_t wakeups_ = 0;
  std::uint64_t sleeps_ = 0;
  // Set by interrupt(), consumed by wait(). On the heap so the endpoint stays movable.
  std::unique_ptr<std::atomic<bool>> interrupted_ = std::make_unique<std::atomic<bool>>(false);
};

}  // namespace ringserve::transport
