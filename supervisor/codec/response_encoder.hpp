#pragma once
// Turns the worker's InferResult (read in place in the response arena) into the HTTP response
// body, reading every output tensor where the worker wrote it.
//
// Body: {"model_name","model_version"?,"id","parameters"?,"outputs":[{"name","datatype","shape",
// "parameters"?,"data"}]}. Numbers are printed in their shortest round-trip form (fmt; FP16/BF16
// are widened to float first). NaN and +-Inf print as `null`, as MLServer does (strict JSON that
// every client parses; ask for binary output to keep them). BYTES elements print as JSON strings;
// an element that is not valid UTF-8 fails the response (internal) naming the output and element
// (request that output with binary_data to receive raw bytes).
//
// Binary outputs (ResponseFormat::binary): the output's JSON has no `data` and gets
// parameters.binary_data_size; after the JSON header come the raw tensors in output order, handed
// to the sink *by reference* into the response arena (no copy). The caller then sets
// `Inference-Header-Content-Length: <inferenceHeaderContentLength>` and must keep the response
// arena blocks (i.e. not send the `release` descriptor) until the sink is done with them.
//
// Response parameters.headers is removed from the body and returned in `headers` (string values
// as is, other JSON values as their JSON text); names that are not HTTP tokens and values with
// CR/LF/NUL are dropped with a warning.
//
// Everything is validated before the first byte reaches the sink, so on error the sink is
// untouched and the caller sends errorBody() instead.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "supervisor/codec/request.hpp"
#include "supervisor/error.hpp"
#include "worker.capnp.h"

namespace ringserve::supervisor::codec {

class OutputSink {
 public:
  virtual ~OutputSink() = default;
  virtual void appendCopy(std::string_view bytes) = 0;
  // `bytes` stay valid until the caller releases the response's arena blocks.
  virtual void appendReference(std::span<const std::byte> bytes) = 0;
};

// Collects everything into a string (tests, benchmarks, gzip before compressing).
class StringSink final : public OutputSink {
 public:
  void appendCopy(std::string_view bytes) override { out.append(bytes); }
  void appendReference(std::span<const std::byte> bytes) override {
    out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
  std::string out;
};

// A checked view of [offset, offset + size) in the response arena (SupervisorLane::peerView);
// the error is the worker's fault (internal).
using OutputBytes = std::function<Expected<std::span<const std::byte>>(std::uint64_t offset, std::uint64_t size)>;

struct EncodedResponse {
  std::vector<std::pair<std::string, std::string>> headers;   // from parameters.headers
  std::optional<std::uint64_t> inferenceHeaderContentLength;  // set when binary outputs follow
  std::uint64_t bodyBytes = 0;                                // everything appended to the sink
  std::vector<std::string> warnings;                          // for the caller's log
};

// The worker's result checked as encode() checks it and taken apart, for a front end that prints
// its own format (gRPC, supervisor/grpc/infer_codec.hpp). Views into the result and the response
// arena: valid while both are (the completion). BYTES outputs are checked for their layout only
// (not UTF-8: other formats carry raw bytes).
struct PlannedOutput {
  std::string_view name;
  DataType type = DataType::FP32;
  std::vector<std::int64_t> shape;
  std::span<const std::byte> bytes;
  std::string parametersJson;  // the output's parameters object, "" when none
};

struct PlannedResult {
  std::string_view modelName, modelVersion, id;  // filled in as encode() does
  std::string parametersJson;                    // response parameters without `headers`, "" when none
  std::vector<PlannedOutput> outputs;
  EncodedResponse response;  // `headers` and `warnings`; the rest is the caller's
};

// One per HTTP loop thread: keeps its text buffer between responses. Not thread-safe.
class ResponseEncoder {
 public:
  ResponseEncoder();
  ~ResponseEncoder();
  ResponseEncoder(ResponseEncoder&&) noexcept;
  ResponseEncoder& operator=(ResponseEncoder&&) noexcept;

  // `modelName`/`modelVersion` fill in what the worker left empty.
  Expected<EncodedResponse> encode(schema::InferResult::Reader result, const OutputBytes& outputBytes,
                                   const ResponseFormat& format, std::string_view modelName,
                                   std::string_view modelVersion, OutputSink& sink);
  Expected<PlannedResult> plan(schema::InferResult::Reader result, const OutputBytes& outputBytes,
                               const ResponseFormat& format, std::string_view modelName, std::string_view modelVersion);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ringserve::supervisor::codec
