// misbehave.Misbehave: an echo whose failures are chosen per request, for the end-to-end tests.
// Request parameter "action": "throw" (std::runtime_error -> 500), "bad_input" (BadInput -> 400),
// "crash" (SIGSEGV: the worker dies), "sleep" with "sleep_ms" (a slow or hung predict).
// Anything else: every input comes back as an output of the same name.
// misbehave.NoBatching: the same echo, declaring it does not support batching (Model::supportsBatching).
#include <ringserve/ringserve.hpp>

#include <chrono>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace {

class Misbehave : public ringserve::Model {
 public:
  ringserve::InferenceResponse predict(const ringserve::InferenceRequest& request) override {
    const auto action = request.parameters().getString("action").value_or("");
    if (action == "throw") throw std::runtime_error("asked to fail");
    if (action == "bad_input") throw ringserve::BadInput("asked to reject the input");
    if (action == "crash") std::raise(SIGSEGV);
    if (action == "sleep") {
      const auto ms = request.parameters().getNumber("sleep_ms").value_or(100);
      std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<long>(ms)));
    }
    ringserve::InferenceResponse response = request.response();
    for (const ringserve::TensorView& in : request.inputs()) {
      const ringserve::Shape shape(in.shape().begin(), in.shape().end());
      auto out = response.allocateRaw(in.name(), in.datatype(), shape, in.bytes().size(), in.parameters().json());
      if (!out.empty()) std::memcpy(out.data(), in.bytes().data(), out.size());
    }
    return response;
  }
};

class NoBatching : public Misbehave {
 public:
  bool supportsBatching() const override { return false; }
};

}  // namespace

RINGSERVE_REGISTER_RUNTIME(Misbehave)
RINGSERVE_REGISTER_RUNTIME(NoBatching)
