#pragma once
// Where the installation's pieces are, found from the running binary: bin/ringserve-worker next
// to bin/ringserve, and lib/ringserve/runtimes beside bin/ (the same layout in a build tree and
// in an installed prefix).
#include <filesystem>

namespace ringserve::cli {

std::filesystem::path selfDirectory();
std::filesystem::path workerExecutable();
std::filesystem::path builtinRuntimeDir();

}  // namespace ringserve::cli
