#pragma once
// `implementation` resolution (SPEC §5): "<module>.<Class>" -> <module>.so or lib<module>.so,
// searched in the given folders in order (the supervisor sends: model folder, environment library
// folder, built-in runtime folder).
#include <string>
#include <string_view>
#include <vector>

namespace ringserve::worker {

struct Implementation {
  std::string module;     // "models" (everything before the last dot)
  std::string className;  // "MyCustomRuntime"
};

// Throws WorkerError(badInput) for a string without a module or class part.
Implementation splitImplementation(std::string_view implementation);

// The first existing <dir>/<module>.so or <dir>/lib<module>.so. Throws WorkerError(notFound)
// listing every path it tried.
std::string findRuntimeLibrary(const Implementation& impl, std::string_view implementation,
                               const std::vector<std::string>& searchPath);

// <dir of this executable>/../lib/ringserve/runtimes
std::string builtinRuntimeDir();

}  // namespace ringserve::worker
