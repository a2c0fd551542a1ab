#include "worker/resolve.hpp"

#include <sys/stat.h>

#include <filesystem>

#include "worker/error.hpp"

namespace ringserve::worker {

Implementation splitImplementation(std::string_view implementation) {
  const auto dot = implementation.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == implementation.size())
    throw WorkerError(schema::ErrorCode::BAD_INPUT,
                      "implementation '" + std::string(implementation) +
                          "' must be \"<module>.<Class>\" (e.g. \"models.MyCustomRuntime\" for models.so)");
  return {std::string(implementation.substr(0, dot)), std::string(implementation.substr(dot + 1))};
}

std::string findRuntimeLibrary(const Implementation& impl, std::string_view implementation,
                               const std::vector<std::string>& searchPath) {
  std::string tried;
  for (const auto& dir : searchPath) {
    if (dir.empty()) continue;
    for (const std::string& file : {impl.module + ".so", "lib" + impl.module + ".so"}) {
      const std::string path = (std::filesystem::path(dir) / file).string();
      struct stat st {};
      if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) return path;
      tried += "\n  " + path;
    }
  }
  if (tried.empty()) tried = "\n  (no folders to search)";
  throw WorkerError(schema::ErrorCode::NOT_FOUND, "runtime module '" + impl.module + "' of implementation '" +
                                                      std::string(implementation) + "' not found; looked for:" + tried);
}

std::string builtinRuntimeDir() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  return (exe.parent_path().parent_path() / "lib" / "ringserve" / "runtimes").lexically_normal().string();
}

}  // namespace ringserve::worker
