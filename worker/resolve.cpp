#include "worker/resolve.hpp"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

#include "worker/error.hpp"

namespace ringserve::worker {

namespace {
bool isFile(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// Records every candidate in `tried`; returns the first that exists.
std::string firstOf(const std::string& dir, const std::vector<std::string>& files, std::string& tried) {
  if (dir.empty()) return {};
  for (const auto& f : files) {
    const std::string path = (std::filesystem::path(dir) / f).lexically_normal().string();
    if (isFile(path)) return path;
    tried += "\n  " + path;
  }
  return {};
}
}  // namespace

Implementation splitImplementation(std::string_view implementation) {
  const auto dot = implementation.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == implementation.size())
    throw WorkerError(schema::ErrorCode::BAD_INPUT,
                      "implementation '" + std::string(implementation) +
                          "' must be \"<module>.<Class>\" (e.g. \"models.MyCustomRuntime\" for models.so or models.py)");
  return {std::string(implementation.substr(0, dot)), std::string(implementation.substr(dot + 1))};
}

ResolvedRuntime resolveRuntime(const Implementation& impl, std::string_view implementation,
                               const std::vector<std::string>& searchPath,
                               const std::vector<std::string>& environmentPythonPath) {
  const std::vector<std::string> libs{impl.module + ".so", "lib" + impl.module + ".so"};
  std::string rel = impl.module;
  for (char& c : rel)
    if (c == '.') c = '/';
  const std::vector<std::string> pys{rel + ".py", rel + "/__init__.py"};
  const std::string builtin = searchPath.empty() ? std::string() : searchPath.back();

  std::string tried;
  auto python = [&](const std::string& dir) -> ResolvedRuntime {
    std::string file = firstOf(dir, pys, tried);
    if (file.empty()) return {};
    const std::string host = (std::filesystem::path(builtin) / kPythonHostLibrary).string();
    if (builtin.empty() || !isFile(host))
      throw WorkerError(schema::ErrorCode::NOT_FOUND, "implementation '" + std::string(implementation) +
                                                          "' is the Python module " + file +
                                                          ", but the Python host " + host + " is not installed");
    return {host, std::move(file)};
  };
  for (std::size_t i = 0; i < searchPath.size(); ++i) {
    const bool last = i + 1 == searchPath.size();
    if (last)
      for (const auto& dir : environmentPythonPath)
        if (auto r = python(dir); !r.library.empty()) return r;
    if (auto lib = firstOf(searchPath[i], libs, tried); !lib.empty()) return {lib, {}};
    if (i == 0)
      if (auto r = python(searchPath[i]); !r.library.empty()) return r;
    if (last && i != 0)
      if (auto r = python((std::filesystem::path(searchPath[i]).parent_path() / "python").string()); !r.library.empty())
        return r;
  }
  if (tried.empty()) tried = "\n  (no folders to search)";
  throw WorkerError(schema::ErrorCode::NOT_FOUND, "runtime module '" + impl.module + "' of implementation '" +
                                                      std::string(implementation) + "' not found; looked for:" + tried);
}

std::vector<std::string> environmentPythonPath() {
  std::vector<std::string> out;
  const char* v = std::getenv("RINGSERVE_PYTHON_PATH");
  for (std::string_view rest = v != nullptr ? v : ""; !rest.empty();) {
    const auto colon = rest.find(':');
    if (const auto dir = rest.substr(0, colon); !dir.empty()) out.emplace_back(dir);
    rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
  }
  return out;
}

std::string builtinRuntimeDir() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  return (exe.parent_path().parent_path() / "lib" / "ringserve" / "runtimes").lexically_normal().string();
}

}  // namespace ringserve::worker
