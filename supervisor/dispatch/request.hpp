#pragma once
// What a front end hands the inference path for one request, and the interface it answers
// through. Nothing here is HTTP: a gRPC front end fills the same structs from its message and
// metadata and implements ResponseWriter over its stream.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "supervisor/codec/arena_target.hpp"
#include "supervisor/codec/body.hpp"
#include "supervisor/codec/request_decoder.hpp"
#include "supervisor/codec/response_encoder.hpp"
#include "supervisor/error.hpp"

namespace ringserve::supervisor::dispatch {

using Clock = std::chrono::steady_clock;

// A request that is not a V2 REST body (gRPC's ModelInferRequest): its front end decodes it into
// the chosen worker's arena itself, with codec/request_checks.hpp's rules. Called once, on the
// loop thread, during Dispatcher::infer; on error the dispatcher frees what it allocated.
class RequestSource {
 public:
  virtual ~RequestSource() = default;
  virtual Expected<codec::DecodedRequest> decode(const codec::RequestInfo& info, codec::ArenaTarget& target) const = 0;
};

// The request body as received. It is only read during Dispatcher::infer (decoded into the
// arena before infer returns), so the front end may free it afterwards.
struct RequestBody {
  const codec::BodySource* bytes = nullptr;
  // The body's content coding as the client declared it; one naming gzip is inflated first,
  // bounded by max_request_size (tooLarge beyond).
  std::string_view contentEncoding;
  // When set, the request is decoded by it and `bytes` / `contentEncoding` are unused.
  const RequestSource* source = nullptr;
};

struct RequestInfo {
  std::string model;
  std::string version;  // "" = the model's default version
  // Every request header or metadata pair (any case). Inference-Header-Content-Length selects
  // the binary extension; all of them reach the runtime in parameters.headers.
  std::vector<std::pair<std::string, std::string>> headers;
  // The front end's own deadline (a gRPC deadline). request_timeout applies regardless; a
  // deadline that passes first answers `timeout` without treating the worker as hung.
  std::optional<Clock::time_point> deadline;
  Clock::time_point received = Clock::now();  // for the model's duration histogram
};

struct ResponseHead {
  // The runtime's response parameters.headers, then the CloudEvents headers it did not set.
  std::vector<std::pair<std::string, std::string>> headers;
  // Set when binary outputs follow a JSON header of this many bytes (the binary extension).
  std::optional<std::uint64_t> inferenceHeaderContentLength;
  std::uint64_t bodyBytes = 0;  // everything written to body()
};

// A front end that answers in its own format (gRPC's ModelInferResponse) instead of the V2 REST
// body: chosen per request by the writer (ResponseWriter::encoding), called on the loop thread
// with the worker's result already checked (codec::ResponseEncoder::plan). It copies what it
// needs: the views are gone once it returns. On success the dispatcher calls finish() with the
// head (headers: the runtime's parameters.headers, then CloudEvents) and no keepAlive.
class ResultEncoding {
 public:
  virtual ~ResultEncoding() = default;
  virtual Expected<std::uint64_t> encode(const codec::PlannedResult& result) = 0;  // bytes encoded
};

// One request's answer. The dispatcher calls body() and then finish(), or fail(), exactly once,
// on the loop thread that called Dispatcher::infer, and then destroys the writer.
class ResponseWriter {
 public:
  virtual ~ResponseWriter() = default;
  // Where the encoder writes the body. Referenced spans (binary outputs, read in place in the
  // worker's response arena) stay valid while the `keepAlive` passed to finish() lives; a writer
  // that sends them later keeps that handle until then.
  virtual codec::OutputSink& body() = 0;
  // nullptr (the default): the V2 REST body is written to body(). Otherwise that encoding is used
  // and body() is never called.
  virtual ResultEncoding* encoding() { return nullptr; }
  virtual void finish(const ResponseHead& head, std::shared_ptr<void> keepAlive) = 0;
  virtual void fail(const Error& failure) = 0;
};

}  // namespace ringserve::supervisor::dispatch
