#pragma once
// `implementation` resolution (docs/runtimes.md#implementation-resolution): "<module>.<Class>" -> a runtime plugin.
// The supervisor sends the search path: model folder, environment library folder(s), built-in
// runtime folder. Searched in this order, first hit wins:
//   model folder:      <module>.so, lib<module>.so, then <module>.py, <module>/__init__.py
//   environment lib/:  <module>.so, lib<module>.so
//   environment Python path (RINGSERVE_PYTHON_PATH, ':'-separated): <module>.py, <module>/__init__.py
//   built-in runtimes: <module>.so, lib<module>.so
//   built-in Python packages (<built-in runtimes>/../python): <module>.py, <module>/__init__.py
// A Python hit is served by the Python host plugin of the built-in runtime folder
// (libringserve_python.so), which searches the same Python folders in the same order
// (runtimes/python/core.cpp). A dotted module "a.b" is a/b.py or a/b/__init__.py.
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

struct ResolvedRuntime {
  std::string library;     // the plugin to open
  std::string pythonFile;  // non-empty: the Python module found (library is then the Python host)
};

inline constexpr const char* kPythonHostLibrary = "libringserve_python.so";

// Throws WorkerError(notFound) listing every path it tried, or naming the missing Python host.
ResolvedRuntime resolveRuntime(const Implementation& impl, std::string_view implementation,
                               const std::vector<std::string>& searchPath,
                               const std::vector<std::string>& environmentPythonPath);

// RINGSERVE_PYTHON_PATH split at ':' (empty when unset).
std::vector<std::string> environmentPythonPath();

// <dir of this executable>/../lib/ringserve/runtimes
std::string builtinRuntimeDir();

}  // namespace ringserve::worker
