#include "supervisor/environments/manifest.hpp"

#include <simdjson.h>

#include <charconv>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <system_error>

#include "supervisor/environments/python_env.hpp"
#include "transport/json_text.hpp"

namespace ringserve::supervisor::environments {
namespace {
using transport::appendJsonString;

// "1.0" -> {1, 0}; nullopt unless exactly two decimal numbers below 65536.
std::optional<std::pair<std::uint16_t, std::uint16_t>> parseVersion(std::string_view text) {
  auto dot = text.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  std::uint16_t major = 0, minor = 0;
  auto a = std::from_chars(text.data(), text.data() + dot, major);
  auto b = std::from_chars(text.data() + dot + 1, text.data() + text.size(), minor);
  if (a.ec != std::errc{} || a.ptr != text.data() + dot || dot == 0) return std::nullopt;
  if (b.ec != std::errc{} || b.ptr != text.data() + text.size() || dot + 1 == text.size()) return std::nullopt;
  return std::pair{major, minor};
}

class Reader {
 public:
  Reader(simdjson::dom::object object, std::string_view origin) : object_(object), origin_(origin) {}

  std::optional<EnvError> string(const char* field, std::string& out, bool required) {
    simdjson::dom::element e;
    if (object_[field].get(e) != simdjson::SUCCESS) {
      if (required) return EnvError{prefix() + "missing field '" + field + "'"};
      return std::nullopt;
    }
    std::string_view s;
    if (e.get(s) != simdjson::SUCCESS) return EnvError{prefix() + "field '" + field + "' must be a string"};
    out.assign(s);
    return std::nullopt;
  }
  std::optional<EnvError> version(const char* field, std::uint16_t& major, std::uint16_t& minor) {
    std::string text;
    if (auto err = string(field, text, true)) return err;
    auto v = parseVersion(text);
    if (!v) return EnvError{prefix() + "field '" + field + "' must be \"<major>.<minor>\", got \"" + text + "\""};
    major = v->first;
    minor = v->second;
    return std::nullopt;
  }
  std::string prefix() const { return std::string(origin_) + ": "; }

 private:
  simdjson::dom::object object_;
  std::string_view origin_;
};

}  // namespace

std::string hostArchitecture() {
#if defined(__x86_64__)
  return "x86_64";
#elif defined(__aarch64__)
  return "aarch64";
#elif defined(__i386__)
  return "i686";
#elif defined(__arm__)
  return "armv7l";
#elif defined(__powerpc64__) && defined(__LITTLE_ENDIAN__)
  return "ppc64le";
#elif defined(__s390x__)
  return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
  return "riscv64";
#else
  return "unknown";
#endif
}

Manifest currentBuildManifest() {
  Manifest m;
  m.architecture = hostArchitecture();
  m.protocol = kProtocolVersion;
  m.sdkAbi = {kSdkAbiMajor, kSdkAbiMinor};
  m.createdBy = std::string("ringserve ") + buildVersion();
  return m;
}

std::string toString(SdkAbi abi) { return std::to_string(abi.major) + "." + std::to_string(abi.minor); }

EnvResult<Manifest> parseManifest(std::string_view json, std::string_view origin) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  simdjson::dom::element root;
  if (auto err = parser.parse(padded).get(root); err != simdjson::SUCCESS) {
    return EnvError{std::string(origin) + ": not valid JSON (" + simdjson::error_message(err) + ")"};
  }
  simdjson::dom::object object;
  if (root.get(object) != simdjson::SUCCESS) return EnvError{std::string(origin) + ": must be a JSON object"};
  Reader r(object, origin);
  Manifest m;
  std::int64_t format = 0;
  if (object["format"].get(format) != simdjson::SUCCESS) {
    return EnvError{r.prefix() + "missing or non-integer field 'format'"};
  }
  if (format != kManifestFormat) {
    return EnvError{r.prefix() + "manifest format " + std::to_string(format) +
                    " is not supported (this server reads format " + std::to_string(kManifestFormat) + ")"};
  }
  m.format = static_cast<int>(format);
  if (auto e = r.string("architecture", m.architecture, true)) return *e;
  if (auto e = r.version("protocol_version", m.protocol.major, m.protocol.minor)) return *e;
  if (auto e = r.version("sdk_abi", m.sdkAbi.major, m.sdkAbi.minor)) return *e;
  if (auto e = r.string("created_by", m.createdBy, false)) return *e;
  std::string worker;
  if (auto e = r.string("worker", worker, false)) return *e;
  if (!worker.empty()) m.worker = worker;

  std::string pythonVersion, pythonAbi;
  if (auto e = r.string("python_version", pythonVersion, false)) return *e;
  if (auto e = r.string("python_abi", pythonAbi, false)) return *e;
  if (pythonVersion.empty() != pythonAbi.empty()) {
    return EnvError{r.prefix() + "'python_version' and 'python_abi' go together (one of them is missing)"};
  }
  if (!pythonVersion.empty()) {
    if (!parsePythonVersion(pythonVersion)) {
      return EnvError{r.prefix() + "field 'python_version' must be \"3.<minor>\", got \"" + pythonVersion + "\""};
    }
    m.pythonVersion = pythonVersion;
    m.pythonAbi = pythonAbi;
  }

  simdjson::dom::array plugins;
  if (auto err = object["plugins"].get(plugins); err == simdjson::SUCCESS) {
    for (simdjson::dom::element p : plugins) {
      simdjson::dom::object po;
      if (p.get(po) != simdjson::SUCCESS) return EnvError{r.prefix() + "each entry of 'plugins' must be an object"};
      Reader pr(po, origin);
      ManifestPlugin plugin;
      if (auto e = pr.string("file", plugin.file, true)) return *e;
      if (auto e = pr.version("sdk_abi", plugin.sdkAbi.major, plugin.sdkAbi.minor)) return *e;
      simdjson::dom::array classes;
      if (po["classes"].get(classes) == simdjson::SUCCESS) {
        for (simdjson::dom::element c : classes) {
          std::string_view s;
          if (c.get(s) != simdjson::SUCCESS) return EnvError{r.prefix() + "'classes' must hold strings"};
          plugin.classes.emplace_back(s);
        }
      }
      m.plugins.push_back(std::move(plugin));
    }
  } else if (err != simdjson::NO_SUCH_FIELD) {
    return EnvError{r.prefix() + "field 'plugins' must be an array"};
  }
  simdjson::dom::array libraries;
  if (auto err = object["libraries"].get(libraries); err == simdjson::SUCCESS) {
    for (simdjson::dom::element l : libraries) {
      std::string_view s;
      if (l.get(s) != simdjson::SUCCESS) return EnvError{r.prefix() + "'libraries' must hold strings"};
      m.libraries.emplace_back(s);
    }
  } else if (err != simdjson::NO_SUCH_FIELD) {
    return EnvError{r.prefix() + "field 'libraries' must be an array"};
  }
  return m;
}

EnvResult<std::optional<Manifest>> readManifest(const std::filesystem::path& root) {
  auto file = root / kManifestFileName;
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return std::optional<Manifest>{};
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof()) return EnvError{"cannot read " + file.string()};
  auto m = parseManifest(text.str(), file.string());
  if (!m) return m.error();
  return std::optional<Manifest>(std::move(m).value());
}

std::string manifestJson(const Manifest& m) {
  std::string out = "{\n  \"format\": " + std::to_string(m.format) + ",\n  \"architecture\": ";
  appendJsonString(out, m.architecture);
  out += ",\n  \"protocol_version\": ";
  appendJsonString(out, toString(m.protocol));
  out += ",\n  \"sdk_abi\": ";
  appendJsonString(out, toString(m.sdkAbi));
  out += ",\n  \"created_by\": ";
  appendJsonString(out, m.createdBy);
  if (m.worker) {
    out += ",\n  \"worker\": ";
    appendJsonString(out, *m.worker);
  }
  out += ",\n  \"plugins\": [";
  for (std::size_t i = 0; i < m.plugins.size(); ++i) {
    const auto& p = m.plugins[i];
    out += i ? ",\n    {\"file\": " : "\n    {\"file\": ";
    appendJsonString(out, p.file);
    out += ", \"sdk_abi\": ";
    appendJsonString(out, toString(p.sdkAbi));
    out += ", \"classes\": [";
    for (std::size_t c = 0; c < p.classes.size(); ++c) {
      if (c) out += ", ";
      appendJsonString(out, p.classes[c]);
    }
    out += "]}";
  }
  out += m.plugins.empty() ? "],\n  \"libraries\": [" : "\n  ],\n  \"libraries\": [";
  for (std::size_t i = 0; i < m.libraries.size(); ++i) {
    out += i ? ",\n    " : "\n    ";
    appendJsonString(out, m.libraries[i]);
  }
  out += m.libraries.empty() ? "]" : "\n  ]";
  if (m.pythonVersion && m.pythonAbi) {
    out += ",\n  \"python_version\": ";
    appendJsonString(out, *m.pythonVersion);
    out += ",\n  \"python_abi\": ";
    appendJsonString(out, *m.pythonAbi);
  }
  out += "\n}\n";
  return out;
}

EnvResult<std::vector<std::string>> checkManifest(const Manifest& m, std::string_view label, bool shipsWorker) {
  std::vector<std::string> warnings;
  const std::string host = hostArchitecture();
  if (m.architecture != host) {
    return EnvError{std::string(label) + " was built for architecture " + m.architecture + "; this server runs on " +
                    host};
  }
  if (shipsWorker) {
    switch (protocolCompatibility(m.protocol)) {
      case Compatibility::supported: break;
      case Compatibility::untested:
        warnings.push_back(std::string(label) + " runs a worker speaking protocol " + ringserve::toString(m.protocol) +
                           ", newer than this server's " + supportedProtocolRange() + " (untested, accepted)");
        break;
      case Compatibility::unsupported:
        return EnvError{std::string(label) + " runs a worker speaking protocol " + ringserve::toString(m.protocol) +
                        "; this server speaks " + supportedProtocolRange()};
    }
  } else {
    // The server's own worker loads the plugins: each must suit its SDK ABI.
    auto refuse = [&](SdkAbi abi, std::string_view what) -> EnvError {
      return EnvError{std::string(label) + " holds " + std::string(what) + " built for SDK ABI " + toString(abi) +
                      "; this server's worker loads SDK ABI " + std::to_string(kSdkAbiMajor) + ".0–" +
                      std::to_string(kSdkAbiMajor) + "." + std::to_string(kSdkAbiMinor)};
    };
    if (!m.plugins.empty() || m.sdkAbi.major != 0 || m.sdkAbi.minor != 0) {
      if (!sdkAbiCompatible(m.sdkAbi.major, m.sdkAbi.minor)) return refuse(m.sdkAbi, "plugins");
    }
    for (const auto& p : m.plugins) {
      if (!sdkAbiCompatible(p.sdkAbi.major, p.sdkAbi.minor)) return refuse(p.sdkAbi, "plugin " + p.file);
    }
  }
  return warnings;
}

}  // namespace ringserve::supervisor::environments
