// The custom runtime of sdk/README.md, built out of tree against the installed SDK package.
#include <ringserve/ringserve.hpp>

#include <fstream>

// Advanced interface: full access to the request, outputs written straight into shared memory.
class MyCustomRuntime : public ringserve::Model {
 public:
  void load() override {
    std::ifstream in(settings().uri);  // parameters.uri, made absolute by the server
    if (!(in >> scale_)) throw std::runtime_error("cannot read a scale from " + settings().uri);
  }

  ringserve::InferenceResponse predict(const ringserve::InferenceRequest& request) override {
    const ringserve::TensorView& x = request.input("x");   // a read-only view on shared memory
    std::span<const float> in = x.as<float>();              // 400 if x is not FP32
    if (in.empty()) throw ringserve::BadInput("x must not be empty");

    ringserve::InferenceResponse response = request.response();
    std::span<float> out = response.allocate<float>("y", {x.shape().begin(), x.shape().end()});
    for (std::size_t i = 0; i < in.size(); ++i) out[i] = in[i] * scale_;

    if (auto trace = request.parameters().header("x-trace-id")) response.setHeader("x-trace-id", *trace);
    metrics().counterAdd("scaled_values_total", static_cast<double>(in.size()));
    return response;
  }

  void unload() override { scale_ = 0; }

 private:
  float scale_ = 1;
};

// Simplified interface (MLServer's decode_args): typed arguments in, typed value out.
class QuestionAnswering : public ringserve::SimpleModel {
 public:
  QuestionAnswering() { decodeArgs(&QuestionAnswering::answer, {"questions", "context"}, {"scores"}); }

  std::vector<float> answer(const std::vector<std::string>& questions, const std::vector<std::string>& context) {
    std::vector<float> scores;
    for (const auto& q : questions) scores.push_back(context.empty() ? 0.0f : static_cast<float>(q.size()));
    return scores;
  }
};

RINGSERVE_REGISTER_RUNTIME(MyCustomRuntime)
RINGSERVE_REGISTER_RUNTIME(QuestionAnswering)
