#pragma once
// A V2 inference request after decoding: everything the InferRequest frame needs, with every
// tensor already in the lane's arena, plus what the response encoder needs to know.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "transport/datatype.hpp"

namespace ringserve::supervisor::codec {

// The datatype table is the base library's (transport/datatype.hpp), named here for codec code.
using transport::DataType;
using transport::dataTypeName;
using transport::elementCount;
using transport::elementSize;
using transport::parseDataType;
using transport::shapeString;

struct DecodedInput {
  std::string name;
  DataType datatype = DataType::FP32;
  std::vector<std::int64_t> shape;
  std::uint64_t offset = 0;      // arena block, from the segment start
  std::uint64_t size = 0;        // bytes of tensor data (BYTES: 4-byte LE length + bytes each)
  std::string parametersJson;    // the input's `parameters` object (minified), "" if none
};

struct RequestedOutput {
  std::string name;
  std::optional<bool> binaryData;  // parameters.binary_data, when given
  std::string parametersJson;      // the output's `parameters` object (minified), "" if none
};

// How the response is to be printed; small and copyable, so the request's owner can keep it
// while the worker runs.
struct ResponseFormat {
  std::string requestId;                               // forced into the response (as MLServer)
  bool binaryDataOutput = false;                       // default for every output
  std::vector<std::pair<std::string, bool>> binaryByOutput;  // outputs with an explicit binary_data
  // Whether output `name` goes in the binary section.
  bool binary(std::string_view name) const;
};

struct DecodedRequest {
  std::string id;                  // the request's id, or a generated UUID v4
  bool idGenerated = false;
  // The request `parameters` object (minified) whose `headers` member holds the HTTP headers
  // (lower-cased names). Always an object, at least {"headers":{...}}.
  std::string parametersJson;
  // The client had set parameters.headers: it was overwritten; the caller logs a warning.
  bool clientHeadersOverwritten = false;
  std::vector<DecodedInput> inputs;
  std::vector<RequestedOutput> outputs;   // empty = all outputs
  bool binaryDataOutput = false;          // parameters.binary_data_output (true for raw requests)
  bool rawRequest = false;                // Inference-Header-Content-Length: 0

  ResponseFormat responseFormat() const;
};

}  // namespace ringserve::supervisor::codec
