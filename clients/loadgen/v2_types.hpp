#pragma once
// Open Inference Protocol requests and responses as the client tools hold them. Element values are
// kept as text so that JSON in -> JSON out is lossless: numbers and booleans as their JSON tokens
// ("1.5", "true"), BYTES elements as their raw (decoded) bytes.
#include <cstdint>
#include <string>
#include <vector>

namespace ringserve::loadgen {

struct Tensor {
  std::string name;
  std::string datatype;             // BOOL, UINT8..UINT64, INT8..INT64, FP16, BF16, FP32, FP64, BYTES
  std::vector<std::int64_t> shape;
  std::string parametersJson;       // minified JSON object, "" if none; never holds binary_data_size
  std::vector<std::string> elements;  // row-major
};

struct V2Request {
  std::string id;                   // "" if absent
  std::string parametersJson;       // minified JSON object or ""
  std::vector<Tensor> inputs;
  std::string outputsJson;          // the requested `outputs` array, minified, or ""
};

struct V2Response {
  std::string modelName;
  std::string modelVersion;         // "" if absent
  std::string id;
  std::string parametersJson;
  std::vector<Tensor> outputs;
};

// Product of the dimensions; throws LoadgenError on a negative dimension or overflow.
std::uint64_t elementCount(const std::vector<std::int64_t>& shape);

}  // namespace ringserve::loadgen
