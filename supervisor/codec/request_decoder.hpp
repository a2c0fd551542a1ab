#pragma once
// Decodes a V2 inference request body (JSON, or the binary tensor extension) straight into a
// worker lane's arena.
//
// Accepted (docs/rest-api.md#inference, Triton's binary extension):
//  - JSON body: {"id"?, "parameters"?, "inputs":[{name, shape, datatype, parameters?, data}],
//    "outputs"?:[{name, parameters?}]}. `data` nested or flat (flattened row-major; only the
//    total element count is checked against the shape, as Triton does).
//    Element rules: integers must be integral and in range (1.0 is accepted for an integer
//    type, 1.5 is not); BOOL takes true/false or 0/1; FP16/BF16 are converted from JSON numbers
//    with round-to-nearest-even; floats out of the type's range are an error; `null` in a
//    floating-point tensor is NaN (the inverse of the encoder, which prints NaN/Inf as null, as
//    MLServer does); BYTES elements are JSON strings (JSON is UTF-8 checked as a whole).
//  - Binary extension: header Inference-Header-Content-Length: N; the first N bytes are the
//    JSON header, then the tensors of the inputs that carry parameters.binary_data_size, in input
//    order; their sizes must add up to exactly the bytes after the header. A BYTES section must
//    be a well-formed sequence of (u32 LE length, bytes) elements, one per element of the shape.
//  - Raw single-input request: Inference-Header-Content-Length: 0; the model must declare exactly
//    one input (name, datatype, shape with at most one -1, which is computed from the body
//    size); for BYTES the whole body is one element. All outputs are then returned binary.
// Errors are badInput with a message naming the input and the numbers involved, except arena-full
// errors from the ArenaTarget (unavailable).
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "supervisor/codec/arena_target.hpp"
#include "supervisor/codec/body.hpp"
#include "supervisor/codec/request.hpp"
#include "supervisor/error.hpp"
#include "supervisor/settings/model_settings.hpp"

namespace ringserve::supervisor::codec {

struct RequestInfo {
  std::string_view modelName;  // for messages
  // Every HTTP request header (any case; the decoder lower-cases names). The decoder reads
  // Inference-Header-Content-Length from here and puts all of them in parameters.headers
  // (repeated names are joined with ", ").
  std::vector<std::pair<std::string, std::string>> headers;
  // The model's declared inputs (settings or what the runtime reported); may be empty. When not
  // empty, an input with another name is refused (badInput), as is an input whose datatype differs
  // from a declared valid datatype. The raw single-input request needs exactly one.
  const std::vector<settings::TensorMetadata>* declaredInputs = nullptr;
};

// One per HTTP loop thread: keeps the JSON parser's buffers between requests. Not thread-safe.
class RequestDecoder {
 public:
  RequestDecoder();
  ~RequestDecoder();
  RequestDecoder(RequestDecoder&&) noexcept;
  RequestDecoder& operator=(RequestDecoder&&) noexcept;

  // On error, blocks already allocated through `target` are the caller's to free.
  Expected<DecodedRequest> decode(const BodySource& body, const RequestInfo& info, ArenaTarget& target);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

namespace detail {
// A raw single-input request (Inference-Header-Content-Length: 0): the whole body is the one
// declared input's tensor, copied once into the arena (raw_request.cpp).
Expected<DecodedRequest> decodeRawRequest(const BodySource& body, const RequestInfo& info, ArenaTarget& target,
                                          const std::string& headersJson);
}  // namespace detail

}  // namespace ringserve::supervisor::codec
