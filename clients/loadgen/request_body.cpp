#include "clients/loadgen/request_body.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "clients/loadgen/binary_codec.hpp"
#include "clients/loadgen/error.hpp"
#include "clients/loadgen/v2_json.hpp"

namespace ringserve::loadgen {

EncodedBody encodeRequest(const V2Request& r, bool binaryInputs, bool binaryOutputs) {
  EncodedBody body;
  std::string& out = body.bytes;
  std::string raw;
  out.push_back('{');
  if (!r.id.empty()) {
    out += "\"id\":";
    appendJsonString(out, r.id);
    out += ',';
  }
  const std::string params =
      binaryOutputs ? withMember(r.parametersJson, "binary_data_output", "true") : r.parametersJson;
  if (!params.empty()) {
    out += "\"parameters\":";
    out += params;
    out += ',';
  }
  out += "\"inputs\":[";
  for (std::size_t i = 0; i < r.inputs.size(); ++i) {
    if (i) out += ',';
    if (!binaryInputs) {
      appendTensorJson(out, r.inputs[i]);
      continue;
    }
    const std::size_t before = raw.size();
    appendBinary(r.inputs[i], raw);
    Tensor header = r.inputs[i];
    header.elements.clear();
    header.parametersJson = withMember(header.parametersJson, "binary_data_size", std::to_string(raw.size() - before));
    std::string t;
    appendTensorJson(t, header);
    t.erase(t.rfind(",\"data\":[]"));  // binary inputs carry no data member
    out += t;
    out += '}';
  }
  out += ']';
  if (!r.outputsJson.empty()) {
    out += ",\"outputs\":";
    out += r.outputsJson;
  }
  out += '}';
  body.jsonLength = out.size();
  body.binary = binaryInputs || binaryOutputs;
  out += raw;
  return body;
}

V2Request generateRequest(const std::vector<std::int64_t>& shape, std::string_view datatype, std::string_view inputName) {
  datatypeSize(datatype);
  Tensor t;
  t.name = std::string(inputName);
  t.datatype = std::string(datatype);
  t.shape = shape;
  const std::uint64_t n = elementCount(shape);
  t.elements.reserve(n);
  const bool isFloat = datatype.starts_with("FP") || datatype == "BF16";
  for (std::uint64_t i = 0; i < n; ++i) {
    if (datatype == "BOOL") t.elements.emplace_back(i % 2 ? "true" : "false");
    else if (datatype == "BYTES") t.elements.push_back("element-" + std::to_string(1000 + i % 9000));
    else if (isFloat) t.elements.push_back(std::to_string(i % 100) + ".25");
    else t.elements.push_back(std::to_string(i % 100));
  }
  V2Request r;
  r.inputs.push_back(std::move(t));
  return r;
}

std::vector<std::int64_t> parseShape(std::string_view text) {
  std::vector<std::int64_t> shape;
  const std::string original(text);
  while (!text.empty()) {
    const auto comma = text.find(',');
    std::string_view part = text.substr(0, comma);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
    if (ec != std::errc() || p != part.data() + part.size() || v < 0)
      throw LoadgenError("bad shape '" + original + "' (expected non-negative integers like 1,16)");
    shape.push_back(v);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  if (shape.empty()) throw LoadgenError("empty shape");
  elementCount(shape);
  return shape;
}

std::pair<std::string, std::string> parseHeaderOption(std::string_view text) {
  auto sep = text.find(':');
  if (sep == std::string_view::npos) sep = text.find('=');
  if (sep == std::string_view::npos || sep == 0)
    throw LoadgenError("bad header '" + std::string(text) + "' (expected Name:value or Name=value)");
  std::string_view name = text.substr(0, sep);
  std::string_view value = text.substr(sep + 1);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  for (const char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_')
      throw LoadgenError("bad header name '" + std::string(name) + "'");
  if (value.find_first_of("\r\n") != std::string_view::npos)
    throw LoadgenError("header '" + std::string(name) + "' has a line break in its value");
  return {std::string(name), std::string(value)};
}

std::string buildHttpRequest(const Endpoint& ep, std::string_view path, const HeaderList& headers,
                             const EncodedBody& body) {
  const auto has = [&](std::string_view n) {
    return std::any_of(headers.begin(), headers.end(), [&](const auto& h) {
      return std::equal(h.first.begin(), h.first.end(), n.begin(), n.end(),
                        [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
    });
  };
  std::string req;
  req.reserve(body.bytes.size() + 256);
  req += "POST ";
  req += path;
  req += " HTTP/1.1\r\nHost: ";
  req += ep.hostHeader();
  req += "\r\n";
  if (!has("content-type")) req += body.binary ? "Content-Type: application/octet-stream\r\n" : "Content-Type: application/json\r\n";
  if (body.binary) req += "Inference-Header-Content-Length: " + std::to_string(body.jsonLength) + "\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  req += "Content-Length: " + std::to_string(body.bytes.size()) + "\r\n\r\n";
  req += body.bytes;
  return req;
}

}  // namespace ringserve::loadgen
