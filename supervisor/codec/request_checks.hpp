#pragma once
// The V2 request rules every front end applies the same way, with the same messages: the REST
// decoder (request_decoder.cpp) and the gRPC one (supervisor/grpc/infer_codec.cpp) both call
// these, so a request refused over one protocol is refused over the other with the same text.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "supervisor/codec/request_decoder.hpp"
#include "supervisor/error.hpp"
#include "supervisor/settings/model_settings.hpp"

namespace ringserve::supervisor::codec {

// {"name":"value",...}: request headers (or gRPC metadata) as parameters.headers, names
// lower-cased, repeated names joined with ", ", invalid UTF-8 repaired.
std::string headersJson(const std::vector<std::pair<std::string, std::string>>& headers);

// The model's declaration of input `name`: nullptr when the model declares none; badInput naming the
// declared inputs when it declares others.
Expected<const settings::TensorMetadata*> declaredInput(const RequestInfo& info, std::string_view name);

// The input's datatype name parsed and checked against its declaration (badInput on either).
Expected<DataType> checkedDatatype(std::string_view input, std::string_view datatype,
                                   const settings::TensorMetadata* declared, const RequestInfo& info);

// Why `bytes` is not exactly `elements` BYTES elements (u32 LE length + bytes each), or nullopt.
std::optional<std::string> bytesLayoutProblem(std::span<const std::byte> bytes, std::uint64_t elements);

// A random UUID v4: the id of a request that brings none.
std::string newRequestId();

}  // namespace ringserve::supervisor::codec
