#include <algorithm>
#include <cstring>
#include <limits>

#include "supervisor/codec/decoder_text.hpp"
#include "supervisor/codec/request_decoder.hpp"

namespace ringserve::supervisor::codec::detail {

Expected<DecodedRequest> decodeRawRequest(const BodySource& body, const RequestInfo& info, ArenaTarget& target,
                                          const std::string& headersJson) {
  const std::size_t declared = info.declaredInputs != nullptr ? info.declaredInputs->size() : 0;
  if (declared != 1) {
    return badRequest("a raw binary request (Inference-Header-Content-Length: 0) needs a model with exactly one "
                      "declared input; model " + quoteName(info.modelName) + " declares " + std::to_string(declared));
  }
  const auto& meta = info.declaredInputs->front();
  auto type = parseDataType(meta.datatype);
  if (!type) {
    return badRequest("a raw binary request needs the datatype of input " + quoteName(meta.name) + " of model " +
                      quoteName(info.modelName) + ", which declares '" + meta.datatype + "'");
  }
  DecodedRequest r;
  r.id = uuid4();
  r.idGenerated = true;
  r.parametersJson = "{\"headers\":" + headersJson + "}";
  r.binaryDataOutput = true;
  r.rawRequest = true;
  DecodedInput in;
  in.name = meta.name;
  in.datatype = *type;
  in.shape = meta.shape.empty() ? std::vector<std::int64_t>{-1} : meta.shape;
  const std::uint64_t size = body.size();
  const auto variable = static_cast<std::size_t>(std::count(in.shape.begin(), in.shape.end(), -1));
  if (variable > 1) {
    return badRequest("a raw binary request needs input " + quoteName(meta.name) + " to have at most one variable "
                      "dimension; its shape is " + shapeString(in.shape));
  }
  std::uint64_t payload = size;
  if (*type == DataType::BYTES) {
    // The whole body is one element.
    for (auto& d : in.shape) {
      if (d == -1) d = 1;
      if (d != 1) {
        return badRequest("a raw binary BYTES request needs input " + quoteName(meta.name) +
                          " to hold one element; its shape is " + shapeString(meta.shape));
      }
    }
    if (size > std::numeric_limits<std::uint32_t>::max()) return badRequest("a BYTES element cannot exceed 4 GiB");
    payload = size + 4;
  } else {
    const std::size_t esize = elementSize(*type);
    std::vector<std::int64_t> known;  // the shape without its variable (-1) dimensions
    for (auto d : in.shape)
      if (d >= 0) known.push_back(d);
    const auto product = elementCount(known);
    if (!product) return badRequest("raw binary request for input " + quoteName(meta.name) + ": shape " +
                                    shapeString(in.shape) + " is too large");
    const std::uint64_t fixed = *product;
    const std::uint64_t elements = size / esize;
    const bool fits = size % esize == 0 && (variable == 0 ? elements == fixed : (fixed != 0 && elements % fixed == 0));
    if (!fits) {
      return badRequest("raw binary request for input " + quoteName(meta.name) + ": " + std::to_string(size) +
                        " bytes do not fit shape " + shapeString(in.shape) + " of " + std::string(dataTypeName(*type)) +
                        " (" + std::to_string(esize) + " bytes per element)");
    }
    for (auto& d : in.shape) {
      if (d == -1) d = static_cast<std::int64_t>(elements / fixed);
    }
  }
  auto block = target.allocate(payload);
  if (!block) return block.error();
  in.offset = block->offset;
  in.size = payload;
  if (*type == DataType::BYTES) {
    const auto len = static_cast<std::uint32_t>(size);
    std::memcpy(block->bytes.data(), &len, 4);
    body.copyOut(0, block->bytes.subspan(4));
  } else {
    body.copyOut(0, block->bytes);
  }
  r.inputs.push_back(std::move(in));
  return r;
}

}  // namespace ringserve::supervisor::codec::detail
