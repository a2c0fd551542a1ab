#pragma once
// The inference thread: takes descriptors from every lane's request ring, runs predict on the
// model named by each InferRequest, writes the InferResponse frame and the outputs into the
// response arena and answers on the same lane; frees a request's response blocks when the lane
// sends `release` for its tag. Everything it found is answered before one flush, so wake-ups of
// the supervisor's loops are batched.
//
// Copies: an input tensor is handed to predict as a pointer into the request arena and an output
// is allocated by the runtime straight in the response arena, so tensor bytes are copied zero
// times between the arena and predict (only the small frame and shape lists are decoded).
#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "transport/endpoint.hpp"
#include "worker/loaded_model.hpp"

namespace ringserve::worker {

class InferLoop {
 public:
  InferLoop(transport::WorkerEndpoint& endpoint, ModelTable& models, std::string workerId, std::uint64_t spinNs)
      : endpoint_(endpoint), models_(models), workerId_(std::move(workerId)), spinNs_(spinNs) {}

  // Serves until `stop` is set (and endpoint.interrupt() called), then answers whatever is still
  // queued and returns. Returns false if a ring was corrupt (the worker must exit).
  bool run(const std::atomic<bool>& stop);
  std::uint64_t served() const { return served_.load(std::memory_order_relaxed); }

 private:
  struct Answer {
    std::vector<std::uint64_t> blocks;  // response-arena blocks to free on release
    transport::Descriptor descriptor{};
  };
  Answer serve(const transport::Descriptor& d, std::uint32_t lane);
  void release(const transport::Descriptor& d, std::uint32_t lane);

  transport::WorkerEndpoint& endpoint_;
  ModelTable& models_;
  std::string workerId_;
  std::uint64_t spinNs_;
  std::atomic<std::uint64_t> served_{0};
  std::map<std::pair<std::uint32_t, std::uint64_t>, std::vector<std::uint64_t>> pending_;  // (lane, tag) -> blocks
};

}  // namespace ringserve::worker
