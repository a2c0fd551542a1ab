#pragma once
// InferenceRequest: what predict() receives. Inputs are read-only views onto shared memory; the
// request also carries its parameters (HTTP headers in `parameters.headers`) and the outputs the
// client asked for. Valid only during the predict call.
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ringserve/abi.h"
#include "ringserve/parameters.hpp"
#include "ringserve/tensor.hpp"

namespace ringserve {

class InferenceResponse;
struct ModelSettings;

struct RequestedOutput {
  std::string_view name;
  Parameters parameters;
};

class InferenceRequest {
 public:
  // Built by the SDK from what the host passed; throws BadInput for a malformed tensor.
  InferenceRequest(const ringserve_request& raw, const ringserve_host* host, ringserve_call* call,
                   const ModelSettings* settings);

  std::string_view id() const { return id_; }
  const Parameters& parameters() const { return parameters_; }
  // parameters.headers
  const std::map<std::string, std::string>& headers() const { return parameters_.headers(); }
  std::span<const TensorView> inputs() const { return inputs_; }
  // nullptr when absent.
  const TensorView* findInput(std::string_view name) const;
  // Throws BadInput: "Input 'questions' was not found. Available inputs are 'a', 'b'."
  const TensorView& input(std::string_view name) const;
  // Empty: the client wants every output.
  std::span<const RequestedOutput> requestedOutputs() const { return requested_; }
  bool outputRequested(std::string_view name) const;

  // The content type that decides how input `name` is decoded: the input's
  // parameters.content_type, else the model metadata's, else "".
  std::string contentTypeOf(const TensorView& input) const;
  // The request-level content type: request parameters.content_type, else the model's.
  std::string requestContentType() const;

  // A response bound to this call; outputs allocated through it go straight into shared memory.
  InferenceResponse response() const;

 private:
  std::string_view id_;
  Parameters parameters_;
  std::vector<TensorView> inputs_;
  std::vector<RequestedOutput> requested_;
  const ringserve_host* host_;
  ringserve_call* call_;
  const ModelSettings* settings_;
};

}  // namespace ringserve
