#pragma once
// The Python side of an environment (issue 12): which Python an environment is for, whether it
// brings its own interpreter, where its packages are, and whether the Python runtime host can run
// it. Only file names are read (no interpreter is started): a libpython's version is its name's
// (libpython3.12.so.1.0), a package folder's is its path's (lib/python3.12/site-packages), an
// extension module's is its tag (foo.cpython-312-x86_64-linux-gnu.so).
//
// Layouts recognised at an environment's root (conda-pack, MLServer, a venv, a Python prefix):
//   lib/python3.X/site-packages/       packages: ahead of the system's on the workers' Python path
//   lib/libpython3.X.so[.1.0]          + lib/python3.X/os.py (standard library): its own interpreter
//   pyvenv.cfg (home = <base>/bin)     a venv: its base Python's libpython, when that has one
//   bin/                               on the workers' PATH
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "schema/version.hpp"
#include "supervisor/environments/env_error.hpp"

namespace ringserve::supervisor::environments {

struct PythonVersion {
  int major = 3;
  int minor = 0;
  std::string text() const;    // "3.12"
  std::string abiTag() const;  // "cp312", the wheel tag of extension modules built for it
  friend bool operator==(const PythonVersion&, const PythonVersion&) = default;
};

// "3.12" (also "3.12.1": the micro is ignored) -> {3, 12}.
std::optional<PythonVersion> parsePythonVersion(std::string_view text);

// The oldest CPython the stable-ABI host runs on (it is compiled with Py_LIMITED_API=0x03080000)
// and the newest one tested with it; anything newer of major 3 is "untested".
inline constexpr int kOldestPythonMinor = 8;
inline constexpr int kNewestTestedPythonMinor = 13;

// The Python the worker's host loads when an environment brings none (the build machine's
// /usr/bin/python3: Debian 12's 3.11). From the default libpython's file name.
PythonVersion workerDefaultPython();

// Environment Python x worker host (README "Python versions" table, checked by a test):
//  - ownInterpreter: the environment's libpython runs on the stable-ABI host: 3.8..3.13
//    supported, a newer 3.x untested (the stable ABI is forward compatible), others unsupported.
//  - packages only: they run on the worker's Python, so only its own minor is supported
//    (extension modules and the standard library are per minor).
Compatibility pythonCompatibility(PythonVersion environment, bool ownInterpreter, PythonVersion worker);

struct PythonLayout {
  PythonVersion version;
  std::string abiTag;                               // "cp312" ("cp312d" for a debug build)
  std::vector<std::filesystem::path> sitePackages;  // existing lib/python3.X/site-packages (root first)
  std::optional<std::filesystem::path> libpython;   // own interpreter: the libpython to load
  std::optional<std::filesystem::path> home;        // own interpreter: PYTHONHOME (its prefix)
  std::optional<std::filesystem::path> binDir;      // root/bin when present
  bool shadowsMlserver = false;                     // a site-packages holds an `mlserver` package
  std::vector<std::string> warnings;
};

// Whether `root` is a Python environment (nullopt: no lib/python3.X, no libpython), and whether it
// can run: an error naming `label` for two Pythons in one environment, a libpython without its
// standard library or of another version than its folder, a free-threaded build (no stable ABI),
// extension modules of another version (naming one file and both versions), or a Python the table
// above calls unsupported. `worker`: the Python of the worker's host when the environment has none.
EnvResult<std::optional<PythonLayout>> detectPython(const std::filesystem::path& root, std::string_view label,
                                                    PythonVersion worker = workerDefaultPython());

// Extension modules under `dir` (recursively) whose cpython tag is not `version`'s; "" when none,
// else "<count> extension modules for CPython 3.11 (e.g. <path>)".
std::string foreignExtensionModules(const std::filesystem::path& dir, PythonVersion version);

// The CPython version an extension module's file name is built for ("x.cpython-311-x86_64-linux-gnu.so"
// -> 3.11); nullopt for a name without a cpython tag (pure Python, abi3 modules, data).
std::optional<PythonVersion> extensionModuleVersion(std::string_view fileName);

// A venv's pyvenv.cfg `home = /opt/python3.12/bin`: that folder as written (the base interpreter's
// bin/); nullopt when `root` is not a venv, an empty path when pyvenv.cfg names no home.
std::optional<std::filesystem::path> venvHome(const std::filesystem::path& root);

}  // namespace ringserve::supervisor::environments
