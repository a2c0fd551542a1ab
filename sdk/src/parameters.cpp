#include "ringserve/parameters.hpp"

#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstdio>

#include "ringserve/errors.hpp"

namespace ringserve {

struct Parameters::Parsed {
  std::map<std::string, std::string, std::less<>> raw;  // member -> minified JSON text
  std::map<std::string, std::string> headers;
};

namespace {

// A parser per parse: parameters are small, and a thread_local parser (non-trivial destructor)
// would pin this plugin in memory after dlclose for as long as the worker's inference thread lives.

std::string valueText(simdjson::dom::element e) {
  std::string_view s;
  if (e.get_string().get(s) == simdjson::SUCCESS) return std::string(s);
  return simdjson::minify(e);
}

}  // namespace

const Parameters::Parsed& Parameters::parsed() const {
  if (parsed_) return *parsed_;
  auto p = std::make_shared<Parsed>();
  if (!json_.empty()) {
    simdjson::dom::element root;
    const simdjson::padded_string padded(json_);
    simdjson::dom::parser parser;
    if (parser.parse(padded).get(root) != simdjson::SUCCESS)
      throw BadInput("parameters are not valid JSON: " + std::string(json_.substr(0, 200)));
    simdjson::dom::object obj;
    if (root.get_object().get(obj) != simdjson::SUCCESS)
      throw BadInput("parameters must be a JSON object, not " + std::string(json_.substr(0, 200)));
    for (auto field : obj) {
      p->raw.emplace(std::string(field.key), simdjson::minify(field.value));
      if (field.key == "headers") {
        simdjson::dom::object h;
        if (field.value.get_object().get(h) == simdjson::SUCCESS)
          for (auto hf : h) p->headers.emplace(std::string(hf.key), valueText(hf.value));
      }
    }
  }
  parsed_ = std::move(p);
  return *parsed_;
}

bool Parameters::empty() const { return json_.empty() || parsed().raw.empty(); }

bool Parameters::has(std::string_view key) const { return parsed().raw.find(key) != parsed().raw.end(); }

std::optional<std::string> Parameters::getRaw(std::string_view key) const {
  const auto& raw = parsed().raw;
  auto it = raw.find(key);
  if (it == raw.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> Parameters::getString(std::string_view key) const {
  auto raw = getRaw(key);
  if (!raw || raw->empty() || raw->front() != '"') return std::nullopt;
  simdjson::dom::element e;
  const simdjson::padded_string padded(*raw);
  std::string_view s;
  simdjson::dom::parser parser;
  if (parser.parse(padded).get(e) != simdjson::SUCCESS || e.get_string().get(s) != simdjson::SUCCESS)
    return std::nullopt;
  return std::string(s);
}

std::optional<double> Parameters::getNumber(std::string_view key) const {
  auto raw = getRaw(key);
  if (!raw) return std::nullopt;
  double v = 0;
  auto [ptr, ec] = std::from_chars(raw->data(), raw->data() + raw->size(), v);
  if (ec != std::errc() || ptr != raw->data() + raw->size()) return std::nullopt;
  return v;
}

std::optional<bool> Parameters::getBool(std::string_view key) const {
  auto raw = getRaw(key);
  if (!raw) return std::nullopt;
  if (*raw == "true") return true;
  if (*raw == "false") return false;
  return std::nullopt;
}

const std::map<std::string, std::string>& Parameters::headers() const { return parsed().headers; }

std::optional<std::string> Parameters::header(std::string_view name) const {
  const auto& h = headers();
  auto it = h.find(std::string(name));
  if (it == h.end()) return std::nullopt;
  return it->second;
}

std::string jsonQuote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out.push_back('"');
  for (const char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
  return out;
}

namespace {
void upsert(std::vector<std::pair<std::string, std::string>>& v, std::string_view key, std::string value) {
  for (auto& [k, val] : v)
    if (k == key) {
      val = std::move(value);
      return;
    }
  v.emplace_back(std::string(key), std::move(value));
}
}  // namespace

void ParametersBuilder::set(std::string_view key, std::string_view value) { upsert(members_, key, jsonQuote(value)); }

void ParametersBuilder::setNumber(std::string_view key, double value) {
  if (!std::isfinite(value)) {
    upsert(members_, key, "null");
    return;
  }
  char buf[32];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, value);
  upsert(members_, key, std::string(buf, ptr));
}

void ParametersBuilder::setBool(std::string_view key, bool value) { upsert(members_, key, value ? "true" : "false"); }

void ParametersBuilder::setRaw(std::string_view key, std::string json) { upsert(members_, key, std::move(json)); }

void ParametersBuilder::setHeader(std::string_view name, std::string_view value) {
  upsert(headers_, name, std::string(value));
}

std::string ParametersBuilder::toJson() const {
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : members_) {
    if (k == "headers" && !headers_.empty()) continue;  // setHeader() wins over a raw `headers`
    if (!first) out += ',';
    first = false;
    out += jsonQuote(k) + ':' + v;
  }
  if (!headers_.empty()) {
    if (!first) out += ',';
    out += "\"headers\":{";
    for (std::size_t i = 0; i < headers_.size(); ++i) {
      if (i) out += ',';
      out += jsonQuote(headers_[i].first) + ':' + jsonQuote(headers_[i].second);
    }
    out += '}';
  }
  out += '}';
  return out;
}

}  // namespace ringserve
