#include "supervisor/environments/python_env.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <map>
#include <regex>
#include <set>

namespace ringserve::supervisor::environments {
namespace fs = std::filesystem;
namespace {

bool isFile(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}
bool isDir(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}

struct Found {
  PythonVersion version;
  std::string flags;  // ABI flags of a libpython name: "d" debug, "t" free-threaded
  fs::path path;
};

// lib/libpython3.12.so, lib/libpython3.12.so.1.0, lib/libpython3.12d.so... (not lib/libpython3.so,
// the version-less stable-ABI forwarder). The versioned soname wins over the development link.
std::vector<Found> libpythons(const fs::path& lib) {
  static const std::regex re(R"(libpython(\d)\.(\d+)([a-z]*)\.so(\.[0-9.]+)?)");
  std::map<std::pair<int, int>, Found> best;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(lib, ec)) {
    std::smatch m;
    const std::string name = e.path().filename().string();
    if (!std::regex_match(name, m, re) || !isFile(e.path())) continue;
    Found f{{std::stoi(m[1]), std::stoi(m[2])}, m[3], e.path()};
    auto [it, inserted] = best.emplace(std::pair{f.version.major, f.version.minor}, f);
    if (!inserted && m[4].length() > 0) it->second = f;
  }
  std::vector<Found> out;
  for (auto& [k, f] : best) out.push_back(std::move(f));
  return out;
}

// lib/python3.12 (also python2.7, so that it is refused rather than ignored).
std::vector<Found> pythonFolders(const fs::path& lib) {
  static const std::regex re(R"(python(\d)\.(\d+)([a-z]*))");
  std::vector<Found> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(lib, ec)) {
    std::smatch m;
    const std::string name = e.path().filename().string();
    if (!std::regex_match(name, m, re) || !isDir(e.path())) continue;
    if (!isDir(e.path() / "site-packages") && !isFile(e.path() / "os.py")) continue;
    out.push_back({{std::stoi(m[1]), std::stoi(m[2])}, m[3], e.path()});
  }
  std::sort(out.begin(), out.end(), [](const Found& a, const Found& b) { return a.path < b.path; });
  return out;
}

std::string inRoot(const fs::path& p, const fs::path& root) {
  auto r = p.lexically_relative(root);
  return r.empty() || r.native().starts_with("..") ? p.string() : r.string();
}

std::string supportedRange() {
  return "CPython 3." + std::to_string(kOldestPythonMinor) + "–3." + std::to_string(kNewestTestedPythonMinor);
}

}  // namespace

std::string PythonVersion::text() const { return std::to_string(major) + "." + std::to_string(minor); }
std::string PythonVersion::abiTag() const { return "cp" + std::to_string(major) + std::to_string(minor); }

std::optional<PythonVersion> parsePythonVersion(std::string_view text) {
  PythonVersion v;
  const char* end = text.data() + text.size();
  auto a = std::from_chars(text.data(), end, v.major);
  if (a.ec != std::errc{} || a.ptr == end || *a.ptr != '.') return std::nullopt;
  auto b = std::from_chars(a.ptr + 1, end, v.minor);
  if (b.ec != std::errc{} || b.ptr == a.ptr + 1) return std::nullopt;
  if (b.ptr != end) {  // an optional ".<micro>" and nothing else
    int micro = 0;
    auto c = std::from_chars(b.ptr + 1, end, micro);
    if (*b.ptr != '.' || c.ec != std::errc{} || c.ptr != end) return std::nullopt;
  }
  return v;
}

PythonVersion workerDefaultPython() {
  static const std::regex re(R"(libpython(\d)\.(\d+))");
  const std::string name = fs::path(RINGSERVE_DEFAULT_PYTHON_LIBRARY).filename().string();
  std::smatch m;
  if (!std::regex_search(name, m, re)) return {3, 11};
  return {std::stoi(m[1]), std::stoi(m[2])};
}

Compatibility pythonCompatibility(PythonVersion environment, bool ownInterpreter, PythonVersion worker) {
  if (!ownInterpreter) return environment == worker ? Compatibility::supported : Compatibility::unsupported;
  if (environment.major != 3 || environment.minor < kOldestPythonMinor) return Compatibility::unsupported;
  return environment.minor <= kNewestTestedPythonMinor ? Compatibility::supported : Compatibility::untested;
}

std::optional<PythonVersion> extensionModuleVersion(std::string_view fileName) {
  static const std::regex re(R"(\.cpython-(\d)(\d+)[a-z]*-)");
  if (fileName.find(".cpython-") == std::string_view::npos) return std::nullopt;  // the common case, without a regex
  std::match_results<std::string_view::const_iterator> m;
  if (!std::regex_search(fileName.begin(), fileName.end(), m, re)) return std::nullopt;
  return PythonVersion{std::stoi(m[1]), std::stoi(m[2])};
}

std::optional<fs::path> venvHome(const fs::path& root) {
  std::ifstream in(root / "pyvenv.cfg");
  if (!in) return std::nullopt;
  static const std::regex re(R"(\s*home\s*=\s*(.*?)\s*)");
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_match(line, m, re)) return fs::path(m[1].str());
  }
  return fs::path();
}

std::string foreignExtensionModules(const fs::path& dir, PythonVersion version) {
  std::size_t count = 0;
  std::string example;
  std::optional<PythonVersion> other;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
       !ec && it != end; it.increment(ec)) {
    const auto v = extensionModuleVersion(it->path().filename().string());
    if (!v || *v == version) continue;
    if (++count == 1) {
      example = it->path().string();
      other = v;
    }
  }
  if (count == 0) return {};
  return std::to_string(count) + " extension module" + (count == 1 ? "" : "s") + " for CPython " + other->text() +
         " (e.g. " + example + ")";
}

EnvResult<std::optional<PythonLayout>> detectPython(const fs::path& root, std::string_view labelIn,
                                                    PythonVersion worker) {
  const std::string label(labelIn);
  const fs::path lib = root / "lib";
  if (!isDir(lib)) return std::optional<PythonLayout>{};
  const auto folders = pythonFolders(lib);
  const auto libs = libpythons(lib);
  if (folders.empty() && libs.empty()) return std::optional<PythonLayout>{};
  if (folders.size() > 1) {
    return EnvError{label + " holds packages for two Pythons (" + inRoot(folders[0].path, root) + " and " +
                    inRoot(folders[1].path, root) + "); an environment is for one Python"};
  }
  if (libs.size() > 1) {
    return EnvError{label + " holds two interpreters (" + inRoot(libs[0].path, root) + " and " +
                    inRoot(libs[1].path, root) + "); an environment is for one Python"};
  }

  PythonLayout out;
  if (!libs.empty()) {
    const Found& l = libs.front();
    out.version = l.version;
    const std::string name = inRoot(l.path, root);
    if (!folders.empty() && !(folders[0].version == l.version)) {
      return EnvError{label + ": its interpreter " + name + " is Python " + l.version.text() + " but its packages (" +
                      inRoot(folders[0].path, root) + ") are for Python " + folders[0].version.text()};
    }
    if (l.flags.find('t') != std::string::npos) {
      return EnvError{label + ": its interpreter " + name + " is a free-threaded build (Python " + l.version.text() +
                      "t), which has no stable ABI for the Python host"};
    }
    const fs::path stdlib = lib / ("python" + l.version.text());
    if (!isFile(stdlib / "os.py")) {
      return EnvError{label + ": its interpreter " + name + " has no standard library (" +
                      inRoot(stdlib / "os.py", root) + " is missing)"};
    }
    out.abiTag = l.version.abiTag() + (l.flags.find('d') != std::string::npos ? "d" : "");
    out.libpython = l.path;
    out.home = root;
  } else {
    out.version = folders[0].version;
    out.abiTag = out.version.abiTag();
    if (auto home = venvHome(root)) {
      const fs::path base = home->lexically_normal().parent_path();
      const std::string ver = out.version.text();
      auto baseLibs = base.empty() ? std::vector<Found>{} : libpythons(base / "lib");
      auto match = std::find_if(baseLibs.begin(), baseLibs.end(), [&](const Found& f) {
        return f.version == out.version && f.flags.find('t') == std::string::npos;
      });
      if (match != baseLibs.end() && isFile(base / "lib" / ("python" + ver) / "os.py")) {
        out.libpython = match->path;
        out.home = base;
      } else {
        out.warnings.push_back(label + " is a venv whose base Python (" +
                               (base.empty() ? std::string("no home in pyvenv.cfg") : base.string()) +
                               ") has no shared libpython" + ver + "; its packages run on the worker's Python");
      }
    }
  }
  const fs::path site = lib / ("python" + out.version.text()) / "site-packages";
  if (isDir(site)) out.sitePackages.push_back(site);
  if (isDir(root / "bin")) out.binDir = root / "bin";
  for (const auto& s : out.sitePackages) out.shadowsMlserver |= isDir(s / "mlserver");

  const bool own = out.libpython.has_value();
  switch (pythonCompatibility(out.version, own, worker)) {
    case Compatibility::supported: break;
    case Compatibility::untested:
      out.warnings.push_back(label + " brings Python " + out.version.text() + ", newer than the tested " +
                             supportedRange() + " (untested, accepted: the host uses the stable ABI)");
      break;
    case Compatibility::unsupported:
      if (own) {
        return EnvError{label + " brings Python " + out.version.text() + "; the Python host runs " + supportedRange() +
                        " (stable ABI 3." + std::to_string(kOldestPythonMinor) + ")"};
      }
      return EnvError{label + " holds packages for Python " + out.version.text() +
                      " and brings no interpreter (no lib/libpython" + out.version.text() +
                      ".so*); the worker's Python is " + worker.text()};
  }
  std::vector<fs::path> scanned = out.sitePackages;
  if (own) scanned.push_back(*out.home / "lib" / ("python" + out.version.text()) / "lib-dynload");
  for (const auto& dir : scanned) {
    if (auto foreign = foreignExtensionModules(dir, out.version); !foreign.empty()) {
      const std::string python = own ? "Python " + out.version.text() + " (" + inRoot(*out.libpython, root) + ")"
                                     : "the worker's Python " + out.version.text();
      return EnvError{label + " runs on " + python + " but holds " + foreign};
    }
  }
  return std::optional<PythonLayout>(std::move(out));
}

}  // namespace ringserve::supervisor::environments
