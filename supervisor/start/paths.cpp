#include "supervisor/start/paths.hpp"

namespace ringserve::cli {

std::filesystem::path selfDirectory() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::current_path() : exe.parent_path();
}

std::filesystem::path workerExecutable() { return selfDirectory() / "ringserve-worker"; }

std::filesystem::path builtinRuntimeDir() {
  return (selfDirectory().parent_path() / "lib" / "ringserve" / "runtimes").lexically_normal();
}

}  // namespace ringserve::cli
