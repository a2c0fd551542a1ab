// busy.Busy: a model whose cost is mostly per call, like a real one (a matrix product or a tree
// ensemble costs nearly the same for 1 row as for 32): each predict spins for `call_cost_us`
// microseconds plus `row_cost_us` per row (parameters.extra of its model-settings.json), plus the
// request parameter `extra_cost_us` (a request that keeps the worker busy), then
// returns every input unchanged and `rows_in_call` (INT64 [rows, 1], each element the number of
// rows this predict received), which shows from the client side whether a request was batched,
// and `pid` (INT64 [rows, 1], the worker process that ran it).
// An INT64 input named `marker` holding a negative value is refused as bad input, so a test can
// poison one request of a batch. Used by tests/e2e/test_batching.py and bench/batching/.
#include <ringserve/ringserve.hpp>

#include <chrono>
#include <cstring>
#include <string>

#include <unistd.h>

namespace {

void spin(std::chrono::nanoseconds d) {
  const auto until = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < until) {
  }
}

class Busy : public ringserve::Model {
 public:
  void load() override {
    callCost_ =
        std::chrono::nanoseconds(static_cast<long>(settings().extra().getNumber("call_cost_us").value_or(0) * 1e3));
    rowCost_ =
        std::chrono::nanoseconds(static_cast<long>(settings().extra().getNumber("row_cost_us").value_or(0) * 1e3));
  }

  ringserve::InferenceResponse predict(const ringserve::InferenceRequest& request) override {
    const auto inputs = request.inputs();
    if (inputs.empty()) throw ringserve::BadInput("busy needs at least one input");
    const std::int64_t rows = inputs.front().shape().empty() ? 1 : inputs.front().shape()[0];
    for (const ringserve::TensorView& in : inputs) {
      if (in.name() != "marker" || in.datatype() != ringserve::DataType::INT64) continue;
      for (std::int64_t v : in.as<std::int64_t>())
        if (v < 0) throw ringserve::BadInput("marker " + std::to_string(v) + " is negative");
    }
    const auto extra = request.parameters().getNumber("extra_cost_us").value_or(0);
    spin(callCost_ + rowCost_ * rows + std::chrono::nanoseconds(static_cast<long>(extra * 1e3)));
    ringserve::InferenceResponse response = request.response();
    for (const ringserve::TensorView& in : inputs) {
      if (!request.outputRequested(in.name())) continue;
      const ringserve::Shape shape(in.shape().begin(), in.shape().end());
      auto out = response.allocateRaw(in.name(), in.datatype(), shape, in.bytes().size(), "");
      if (!out.empty()) std::memcpy(out.data(), in.bytes().data(), out.size());
    }
    if (request.outputRequested("rows_in_call")) {
      auto out = response.allocate<std::int64_t>("rows_in_call", ringserve::Shape{rows, 1});
      for (auto& v : out) v = rows;
    }
    if (request.outputRequested("pid")) {
      auto out = response.allocate<std::int64_t>("pid", ringserve::Shape{rows, 1});
      for (auto& v : out) v = ::getpid();
    }
    return response;
  }

 private:
  std::chrono::nanoseconds callCost_{0};
  std::chrono::nanoseconds rowCost_{0};
};

}  // namespace

RINGSERVE_REGISTER_RUNTIME(Busy)
