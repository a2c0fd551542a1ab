#include "supervisor/codec/request_checks.hpp"

#include <algorithm>
#include <cctype>

#include "supervisor/codec/decoder_text.hpp"
#include "supervisor/codec/json_text.hpp"
#include "transport/bytes_elements.hpp"

namespace ringserve::supervisor::codec {

using detail::quoteName;

namespace {

std::string lowerCase(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

std::string allTypeNames() {
  std::string s;
  for (int t = 0; t <= static_cast<int>(DataType::BYTES); ++t) {
    if (!s.empty()) s += ", ";
    s += dataTypeName(static_cast<DataType>(t));
  }
  return s;
}

}  // namespace

std::string headersJson(const std::vector<std::pair<std::string, std::string>>& headers) {
  std::vector<std::pair<std::string, std::string>> joined;
  for (const auto& [rawName, value] : headers) {
    std::string name = lowerCase(rawName);
    auto it = std::find_if(joined.begin(), joined.end(), [&](const auto& p) { return p.first == name; });
    if (it == joined.end()) {
      joined.emplace_back(std::move(name), value);
    } else {
      it->second += ", ";
      it->second += value;
    }
  }
  std::string o = "{";
  for (const auto& [name, value] : joined) {
    if (o.size() > 1) o += ',';
    appendJsonStringRepaired(o, name);
    o += ':';
    appendJsonStringRepaired(o, value);
  }
  o += '}';
  return o;
}

Expected<const settings::TensorMetadata*> declaredInput(const RequestInfo& info, std::string_view name) {
  if (info.declaredInputs == nullptr || info.declaredInputs->empty()) return nullptr;
  for (const auto& d : *info.declaredInputs) {
    if (d.name == name) return &d;
  }
  std::string known;
  for (const auto& d : *info.declaredInputs) known += (known.empty() ? "" : ", ") + quoteName(d.name);
  return badRequest("unknown input " + quoteName(name) + " for model " + quoteName(info.modelName) +
                    "; its inputs are " + known);
}

Expected<DataType> checkedDatatype(std::string_view input, std::string_view datatype,
                                   const settings::TensorMetadata* declared, const RequestInfo& info) {
  auto type = parseDataType(datatype);
  if (!type) {
    return badRequest("input " + quoteName(input) + ": unknown datatype '" + std::string(datatype) +
                      "' (expected one of " + allTypeNames() + ")");
  }
  if (declared != nullptr && parseDataType(declared->datatype) && declared->datatype != datatype) {
    return badRequest("input " + quoteName(input) + " has datatype " + std::string(datatype) + " but model " +
                      quoteName(info.modelName) + " expects " + declared->datatype);
  }
  return *type;
}

std::optional<std::string> bytesLayoutProblem(std::span<const std::byte> bytes, std::uint64_t elements) {
  const auto w = transport::walkBytes(bytes);
  using Stop = transport::BytesWalk::Stop;
  if (w.stop == Stop::truncatedLength) return "ends inside the length of element " + std::to_string(w.count);
  if (w.stop == Stop::pastEnd) {
    return "element " + std::to_string(w.count) + " claims " + std::to_string(w.claimed) + " bytes but only " +
           std::to_string(w.remaining) + " remain";
  }
  if (w.count != elements)
    return "holds " + std::to_string(w.count) + " elements but the shape needs " + std::to_string(elements);
  return std::nullopt;
}

std::string newRequestId() { return detail::uuid4(); }

}  // namespace ringserve::supervisor::codec
