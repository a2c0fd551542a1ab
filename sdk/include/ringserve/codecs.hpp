#pragma once
// Codecs: MLServer's content types in C++. Each C++ type has one codec (Codec<T>) that decodes an
// input tensor into it and encodes it as an output:
//
//   C++ type                          content type  wire                      copies
//   NDArrayView<T>                    np            any numeric datatype      none (view on shm)
//   NDArray<T>, std::vector<T>        np            any numeric datatype      one
//   std::vector<std::string>          str           BYTES, UTF-8              one
//   std::vector<Bytes>                base64        BYTES                     one (decoded)
//   std::vector<TimePoint>            datetime      BYTES, ISO-8601           parsed
//
// Decoding follows the input's content type (parameters.content_type > model metadata > the
// type's own): e.g. a `base64` input decoded as std::vector<std::string> is base64-decoded first.
// A datatype that does not fit the type is a BadInput naming the input, expected and received
// datatype. Encoders set the output's parameters.content_type to what they encoded with.
// Outputs from 1-D values get shape [N, 1], as MLServer's codecs do.
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

#include "ringserve/errors.hpp"
#include "ringserve/request.hpp"
#include "ringserve/response.hpp"
#include "ringserve/tensor.hpp"

namespace ringserve {

using Bytes = std::vector<std::uint8_t>;
using TimePoint = std::chrono::time_point<std::chrono::system_clock, std::chrono::microseconds>;

namespace content_types {
inline constexpr std::string_view numpy = "np";
inline constexpr std::string_view string = "str";
inline constexpr std::string_view base64 = "base64";
inline constexpr std::string_view datetime = "datetime";
}  // namespace content_types

namespace codecs {

std::string base64Encode(std::span<const std::uint8_t> bytes);
std::string base64Encode(std::string_view bytes);
// nullopt when `text` is not valid (padded, standard alphabet) base64.
std::optional<Bytes> base64Decode(std::string_view text);
// ISO-8601 "2021-08-24T15:01:19[.123456][Z|+hh:mm]"; no offset = UTC. Throws BadInput.
TimePoint parseDatetime(std::string_view text);
// "2021-08-24T15:01:19.123456+00:00" (fraction only when non-zero); Python's fromisoformat reads it.
std::string formatDatetime(TimePoint t);
// "There was an error encoding / decoding the payload: <what>" (MLServer's CodecError), as BadInput.
[[noreturn]] void codecError(const std::string& what);

// BYTES elements of `input` as strings; content type `base64` decodes them (MLServer falls back to
// the raw bytes for an element that is not valid base64, and so do we).
std::vector<std::string> decodeStrings(const TensorView& input, std::string_view contentType);
std::vector<Bytes> decodeBase64(const TensorView& input, std::string_view contentType);
std::vector<TimePoint> decodeDatetimes(const TensorView& input);

template <class T>
struct Codec;  // specialised below; an unsupported type fails to compile here

template <TensorElement T>
struct Codec<NDArrayView<T>> {
  static constexpr std::string_view contentType = content_types::numpy;
  static NDArrayView<T> decode(const TensorView& in, std::string_view) { return in.array<T>(); }
};

template <TensorElement T>
struct Codec<NDArray<T>> {
  static constexpr std::string_view contentType = content_types::numpy;
  static NDArray<T> decode(const TensorView& in, std::string_view) {
    return {Shape(in.shape().begin(), in.shape().end()), in.values<T>()};
  }
  static void encode(InferenceResponse& out, std::string_view name, const NDArray<T>& v, std::string_view ct) {
    out.add<T>(name, v.shape, std::span<const T>(v.data), ct.empty() ? contentType : ct);
  }
};

template <TensorElement T>
struct Codec<std::vector<T>> {
  static constexpr std::string_view contentType = content_types::numpy;
  static std::vector<T> decode(const TensorView& in, std::string_view) { return in.values<T>(); }
  static void encode(InferenceResponse& out, std::string_view name, const std::vector<T>& v, std::string_view ct) {
    out.add<T>(name, {static_cast<std::int64_t>(v.size()), 1}, std::span<const T>(v), ct.empty() ? contentType : ct);
  }
};

// std::vector<bool> is not contiguous; BOOL tensors decode to std::vector<std::uint8_t>-like
// NDArray<bool> instead, so this specialisation only refuses clearly.
template <>
struct Codec<std::vector<bool>>;

template <>
struct Codec<std::vector<std::string>> {
  static constexpr std::string_view contentType = content_types::string;
  static std::vector<std::string> decode(const TensorView& in, std::string_view ct) { return decodeStrings(in, ct); }
  static void encode(InferenceResponse& out, std::string_view name, const std::vector<std::string>& v,
                     std::string_view ct);
};

template <>
struct Codec<std::vector<Bytes>> {
  static constexpr std::string_view contentType = content_types::base64;
  static std::vector<Bytes> decode(const TensorView& in, std::string_view ct) { return decodeBase64(in, ct); }
  static void encode(InferenceResponse& out, std::string_view name, const std::vector<Bytes>& v, std::string_view ct);
};

template <>
struct Codec<std::vector<TimePoint>> {
  static constexpr std::string_view contentType = content_types::datetime;
  static std::vector<TimePoint> decode(const TensorView& in, std::string_view) { return decodeDatetimes(in); }
  static void encode(InferenceResponse& out, std::string_view name, const std::vector<TimePoint>& v,
                     std::string_view ct);
};

// Decodes input `name` of `request` as T, choosing the content type as MLServer does.
template <class T>
T decode(const InferenceRequest& request, std::string_view name) {
  const TensorView& in = request.input(name);
  return Codec<T>::decode(in, request.contentTypeOf(in));
}

// Adds `value` as output `name` (content type: `contentType`, else the codec's own).
template <class T>
void encode(InferenceResponse& response, std::string_view name, const T& value, std::string_view contentType = {}) {
  Codec<T>::encode(response, name, value, contentType);
}

// Request-level codecs (MLServer's NumpyRequestCodec / StringRequestCodec): the request must hold
// exactly one input, which is decoded as T; the response holds one output named `output-1`.
template <class T>
T decodeRequest(const InferenceRequest& request) {
  if (request.inputs().size() != 1)
    codecError("a single-input request codec needs exactly one input, the request has " +
               std::to_string(request.inputs().size()));
  const TensorView& in = request.inputs()[0];
  std::string ct = request.contentTypeOf(in);
  if (ct.empty()) ct = request.requestContentType();
  return Codec<T>::decode(in, ct);
}
template <class T>
void encodeResponse(InferenceResponse& response, const T& value, std::string_view outputName = "output-1") {
  Codec<T>::encode(response, outputName, value, {});
}

}  // namespace codecs
}  // namespace ringserve
