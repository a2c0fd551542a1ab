#pragma once
// `ringserve pack-env`: builds an environment tarball from runtime plugins, their non-system
// shared-library dependencies (found by reading ELF dependencies, see library_resolver.hpp) and
// optionally a worker binary. Layout of the tarball:
//   ringserve-env.json         the manifest (manifest.hpp)
//   bin/ringserve-worker       with --worker
//   lib/<plugin>.so            each plugin under its own file name (the worker's runtime search
//                              path holds the environment's lib/)
//   lib/<DT_NEEDED name>       each non-system dependency (symlinks resolved) and --include-lib
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "clients/pack_env/library_resolver.hpp"
#include "clients/pack_env/pack_python.hpp"
#include "clients/pack_env/tar_writer.hpp"
#include "schema/version.hpp"
#include "supervisor/environments/env_error.hpp"
#include "supervisor/environments/manifest.hpp"

namespace ringserve::supervisor::environments {

struct PackOptions {
  std::vector<std::filesystem::path> plugins;       // at least one plugin, a worker or Python
  std::optional<std::filesystem::path> python;      // --python PREFIX (pack_python.hpp)
  std::vector<std::filesystem::path> sitePackages;  // --site-packages DIR...
  std::optional<std::filesystem::path> worker;      // packed as bin/ringserve-worker
  std::vector<std::filesystem::path> includeLibs;   // packed into lib/ (with their dependencies)
  std::filesystem::path output;
  std::optional<TarFormat> format;  // default: from the output name, else gzip
  // The protocol the packed worker speaks (default: this build's). Recorded in the manifest.
  std::optional<ProtocolVersion> workerProtocol;
  ResolverOptions resolver = ResolverOptions::fromEnvironment();
};

struct PackedFile {
  std::string pathInArchive;
  std::filesystem::path source;
  std::uint64_t bytes = 0;
};

struct PackReport {
  Manifest manifest;
  std::vector<PackedFile> files;             // what went in, in order (Python files: `python`)
  std::optional<PythonPack> python;          // with --python / --site-packages
  std::vector<std::string> systemLibraries;  // needed but left to the base system
  std::uint64_t inputBytes = 0;
  std::uint64_t tarballBytes = 0;
  std::string key;  // "sha256:<hex>", the environment's cache key
};

// stage: "collecting" (Python), "resolving", "checking", "packing"; done/total: bytes for "packing", items otherwise.
using PackProgressFn = std::function<void(std::string_view stage, std::uint64_t done, std::uint64_t total)>;

// Refuses bad input (missing or non-ELF plugin, another architecture, a plugin with an
// incompatible SDK ABI, an unresolvable dependency, two different files for one name, what
// collectPython refuses) and fails on I/O, with one line either way. Nothing is left at `output` on failure.
EnvResult<PackReport> packEnvironment(const PackOptions& options, const PackProgressFn& progress = {});

}  // namespace ringserve::supervisor::environments
