#pragma once
// `ringserve pack-env --python PREFIX --site-packages DIR...`: what goes into an environment
// tarball for a Python (pack_env.cpp writes it). Layout in the tarball (the one python_env.hpp
// recognises):
//   bin/python3.X, bin/python3, bin/python   the interpreter (links to python3.X), when PREFIX has it
//   lib/libpython3.X.so.1.0, lib/libpython3.X.so -> libpython3.X.so.1.0, lib/libpython3.so
//   lib/python3.X/...                        the standard library, trimmed: no test/tests/idle_test
//                                            folders, idlelib, tkinter (and _tkinter), turtledemo,
//                                            ensurepip, config-3.X-* (the static libpython and its
//                                            Makefile), the prefix's own site-packages, __pycache__
//   lib/python3.X/site-packages/...          a venv PREFIX's packages, then each --site-packages DIR
// Without --python only the site-packages part is written, for the worker's Python (or the
// version the DIR's path names: .../lib/python3.Y/site-packages).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "supervisor/environments/env_error.hpp"
#include "supervisor/environments/python_env.hpp"

namespace ringserve::supervisor::environments {

struct PythonPackFile {
  std::string pathInArchive;
  std::filesystem::path source;  // empty for a symlink
  std::string linkTarget;        // non-empty: a symbolic link to this (relative) target
  std::uint64_t bytes = 0;
  unsigned mode = 0644;
};

struct PythonPackPart {
  std::uint64_t files = 0;
  std::uint64_t bytes = 0;
};

struct PythonPack {
  PythonVersion version;
  std::string abiTag;
  bool ownInterpreter = false;
  std::optional<std::filesystem::path> libpython;  // the source of lib/libpython3.X.so.1.0
  std::vector<PythonPackFile> files;               // in archive order, parents before children
  PythonPackPart interpreter, standardLibrary, sitePackages, leftOut;
};

// Refuses a PREFIX or DIR that does not exist, a venv whose base Python is missing (or
// has no shared libpython), a Python without a shared libpython or its standard library, a
// site-packages folder for another Python, extension modules of another version (mixed ABI tags,
// naming the file and both versions), two files for one path.
EnvResult<PythonPack> collectPython(const std::optional<std::filesystem::path>& prefix,
                                    const std::vector<std::filesystem::path>& sitePackages,
                                    PythonVersion worker = workerDefaultPython());

}  // namespace ringserve::supervisor::environments
