#pragma once
// Internal to the inference path (dispatcher.cpp, batcher.cpp): one request on its way through a
// worker, alone or as a member of a batch.
#include <chrono>
#include <cstdint>
#include <memory>

#include "supervisor/codec/request.hpp"
#include "supervisor/core/routing.hpp"
#include "supervisor/dispatch/dispatcher.hpp"
#include "supervisor/event.hpp"

namespace ringserve::supervisor::dispatch {

// What the completion and the deadline need. Shared by the lane's pending entry (or the batch
// holding it, until the worker answers or dies) and the deadline timer's owner.
struct Dispatcher::Call {
  Dispatcher* dispatcher = nullptr;
  std::unique_ptr<ResponseWriter> writer;   // null once answered
  std::shared_ptr<const ModelRoute> model;  // keeps names and counters alive
  Clock::time_point received;
  codec::ResponseFormat format;
  std::shared_ptr<WorkerLink> link;
  std::uint64_t progressAtSend = 0;
  bool deadlineIsRequestTimeout = false;  // which limit the timer enforces
  bool sent = false;                      // submitted to the worker (a batch member may still wait in the batcher)
  Event timer;                            // freed when the answer or the deadline comes
  // Statistics (core/model_stats.hpp): compute_input is the decode, queue starts at submission
  // (for a batch member: at its batch's submission; the wait in the batcher counts as queue).
  std::uint64_t inputNs = 0;
  Clock::time_point submitted;
  Clock::time_point completed;  // the worker's answer arrived
  std::uint64_t batchSize = 1;
  std::uint64_t executions = 1;  // 0 for every member of a batch but one: the batch is one execution
};

}  // namespace ringserve::supervisor::dispatch
