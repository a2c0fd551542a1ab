#pragma once
// The inference path: one entry point every front end calls. Dispatcher::infer takes a request
// (RequestInfo, RequestBody) and a ResponseWriter and does the rest, in this order:
//   1. target choice (target.hpp): the model version, then its least loaded live worker;
//   2. the body: inflated when gzip, then decoded straight into that worker's lane arena (codec);
//   3. the InferRequest frame next to the tensors (codec/request_frame.hpp);
//   4. submission on this loop's lane (core/lane_client.hpp), and the deadline timer; a model
//      with adaptive batching joins a batch instead (batcher.hpp), sent as one request;
//   5. completion: the worker's result encoded into the writer's body (codec/response_encoder),
//      binary outputs by reference, CloudEvents headers, the model's counters.
// One Dispatcher per HTTP loop (its decoder and encoder keep buffers between requests), created by
// the server assembly (supervisor/server/server.cpp) and shared by every front end on that
// loop (REST, and gRPC calls posted to it); loop thread only.
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "supervisor/codec/request_decoder.hpp"
#include "supervisor/codec/response_encoder.hpp"
#include "supervisor/core/event_loop.hpp"
#include "supervisor/core/loop_lanes.hpp"
#include "supervisor/core/metrics.hpp"
#include "supervisor/core/request_arena.hpp"
#include "supervisor/core/routing.hpp"
#include "supervisor/dispatch/request.hpp"

namespace ringserve::supervisor {
class ServerCore;
}

namespace ringserve::supervisor::dispatch {

struct Target;
class Batcher;

// What the inference path needs from the model manager. Both are called on the loop thread.
struct Models {
  std::function<std::shared_ptr<const RoutingTable>()> routing;
  // request_timeout passed for a request sent to `link` when its progress counter read
  // `progressAtSend`: the manager replaces the worker if it made no progress since.
  std::function<void(std::shared_ptr<WorkerLink> link, std::uint64_t progressAtSend)> reportTimeout;
};
Models modelsOf(ServerCore& core);

struct Options {
  std::string serverName;                    // CloudEvents Ce-Source / Ce-Inferenceservicename
  std::optional<double> requestTimeout;      // seconds (request_timeout)
  std::uint64_t maxRequestSize = 64u << 20;  // bounds an inflated gzip body
};

class Dispatcher {
 public:
  Dispatcher(Options options, Models models, EventLoop& loop, LoopLanes& lanes, MetricsRegistry& metrics);
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Answers through `writer` exactly once: at once for a request that fails before submission,
  // otherwise when the worker answers, the worker dies, or the deadline passes.
  // `info` is taken by value: its headers move on into the request's parameters.
  void infer(RequestInfo info, const RequestBody& body, std::unique_ptr<ResponseWriter> writer);

  EventLoop& loop() const { return loop_; }  // the loop every call of this dispatcher runs on

  struct Call;

 private:
  friend class Batcher;  // submits, completes and aborts its members' calls through the steps below

  BasicResult<codec::DecodedRequest, Error> decode(Call& call, RequestInfo& info, const RequestBody& body,
                                                   RequestArena& arena);
  // `keep` lives until the worker answers: what the request's tensors point into when `arena`
  // holds only the frame (a batch member sent again on its own reads the merged blocks).
  BasicResult<std::uint64_t, Error> submitOne(const std::shared_ptr<Call>& call, const codec::DecodedRequest& request,
                                              RequestArena& arena, const RouteTarget& route, LaneClient& lane,
                                              std::shared_ptr<const void> keep = nullptr);
  // Ends the call's in-flight count and its timer; true while it still has to be answered.
  bool settle(Call& call);
  void complete(Call& call, Completion& c);  // settle, then the worker's error or answer()
  // `result`: the worker's InferResult for this call (a batch member's share of it).
  void answer(Call& call, Completion& c, schema::InferResult::Reader result);
  void answerWith(Call& call, Completion& c, schema::InferResult::Reader result, ResultEncoding& encoding);
  void countSuccess(Call& call, schema::InferResult::Reader result, Clock::time_point encodedAt);
  void expire(Call& call);
  void armDeadline(const std::shared_ptr<Call>& call, std::optional<Clock::time_point> deadline);
  void fail(Call& call, const Error& failure);   // the writer's answer and the failure counters
  void abort(Call& call, const Error& failure);  // settle, then fail if not answered yet

  Options options_;
  Models models_;
  EventLoop& loop_;
  LoopLanes& lanes_;
  codec::RequestDecoder decoder_;
  codec::ResponseEncoder encoder_;
  std::unique_ptr<Batcher> batcher_;
  // MLServer's `parallel_request_queue`: requests in flight on the chosen worker, per dispatch.
  Histogram* parallelQueue_;
};

}  // namespace ringserve::supervisor::dispatch
