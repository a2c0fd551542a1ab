// echo.EchoRuntime: returns every input as an output of the same name, datatype, shape and bytes
// (advanced interface, every V2 datatype). With request parameter `"echo_headers": true` it also
// returns the request's `x-*` headers as response headers (only those: echoing e.g.
// content-length back would break the HTTP response).
#include <ringserve/ringserve.hpp>

#include <cstring>
#include <string>

namespace {

class EchoRuntime : public ringserve::Model {
 public:
  ringserve::InferenceResponse predict(const ringserve::InferenceRequest& request) override {
    ringserve::InferenceResponse response = request.response();
    for (const ringserve::TensorView& in : request.inputs()) {
      if (!request.outputRequested(in.name())) continue;
      const ringserve::Shape shape(in.shape().begin(), in.shape().end());
      // One copy, arena to arena: an echo has to produce a second tensor.
      // Only the content type travels back: other tensor parameters (e.g. the binary extension's
      // binary_data_size) describe the request's encoding, not the output's.
      std::string params;
      if (auto ct = in.parameters().contentType()) params = "{\"content_type\":" + ringserve::jsonQuote(*ct) + "}";
      auto out = response.allocateRaw(in.name(), in.datatype(), shape, in.bytes().size(), params);
      if (!out.empty()) std::memcpy(out.data(), in.bytes().data(), out.size());
    }
    if (request.parameters().getBool("echo_headers").value_or(false))
      for (const auto& [name, value] : request.headers())
        if (name.size() > 2 && (name[0] == 'x' || name[0] == 'X') && name[1] == '-') response.setHeader(name, value);
    metrics().counterAdd("echo_requests_total", 1, "Requests answered by the echo runtime");
    return response;
  }
};

}  // namespace

RINGSERVE_REGISTER_RUNTIME(EchoRuntime)
