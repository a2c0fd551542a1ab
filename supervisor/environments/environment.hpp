#pragma once
// Environments (docs/environments.md): turning a model's `environment_tarball` / `environment_path` into a
// verified folder that a pool's workers can be launched from, and the pool key of each model.
//
// Cache layout in environments_dir (shared by every server using it):
//   sha256-<hex>/                  one complete unpack (the key with ':' -> '-', because the folder
//                                  ends up in LD_LIBRARY_PATH, where ':' separates entries)
//   sha256-<hex>/.ringserve-complete  written last, before the rename: its presence = complete
//   .locks/sha256-<hex>.lock       flock'd while a server checks or unpacks that key
//   .unpack-<hex>-<pid>/           an unpack in progress (removed on failure, and by the next
//                                  locker when its owner died)
//   .digests/<sha256 of path>      tarball path -> digest, valid while (dev, inode, size, mtime,
//                                  ctime) match, so a cached start does not re-read the tarball
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "supervisor/environments/env_error.hpp"
#include "supervisor/environments/limits.hpp"
#include "supervisor/environments/manifest.hpp"
#include "supervisor/environments/python_env.hpp"
#include "supervisor/settings/model_settings.hpp"

namespace ringserve::supervisor::environments {

inline constexpr const char* kCompleteMarker = ".ringserve-complete";

struct PreparedEnvironment {
  std::string key;               // "sha256:<hex of the tarball bytes>" or "path:<sha256 of the absolute path>"
  std::string label;             // "environment sha256:0123456789ab… (/models/a/env.tar.gz)", for messages
  std::filesystem::path source;  // the tarball, or the environment_path
  std::filesystem::path root;    // environments_dir/sha256-<hex>/ (or the environment_path itself)
  std::optional<std::filesystem::path>
      workerExecutable;              // root/bin/ringserve-worker when present (checked executable, right architecture)
  std::filesystem::path libDir;      // root/lib: LD_LIBRARY_PATH and the runtime search path
  std::optional<Manifest> manifest;  // nullopt: no ringserve-env.json (hand-made environment; not checked)
  std::optional<PythonLayout> python;   // lib/python3.X and/or libpython3.X found (checked runnable)
  std::filesystem::path pycachePrefix;  // environments_dir/.pycache/<folder>: PYTHONPYCACHEPREFIX (prepareForModel)
  std::vector<std::string> warnings;    // e.g. no manifest, untested protocol minor
  std::uint64_t bytes = 0;              // regular-file bytes on disk
  bool unpackedNow = false;             // false when reused from the cache (or a directory)
  double unpackSeconds = 0;             // this call's unpack time (0 when reused)
};

// Blocking: hashes (unless the digest cache matches), locks, unpacks when not cached, checks the
// manifest. Errors (one line each): missing tarball; bad archive / unsafe entry / past the limits /
// bad or incompatible manifest / worker binary not executable or for another architecture; I/O
// (cannot create environments_dir, disk full). After an error nothing half-unpacked remains.
EnvResult<PreparedEnvironment> prepareTarball(const std::filesystem::path& tarball,
                                              const std::filesystem::path& environmentsDir, const Limits& limits = {},
                                              const ProgressFn& progress = {});
// Uses an existing folder as is (never modified). Same checks as prepareTarball.
EnvResult<PreparedEnvironment> prepareDirectory(const std::filesystem::path& environmentPath);

// A model's environment: environment_path wins over environment_tarball (as in MLServer);
// nullopt when it names neither.
EnvResult<std::optional<PreparedEnvironment>> prepareForModel(const settings::ModelParameters& parameters,
                                                              const std::filesystem::path& environmentsDir,
                                                              const Limits& limits = {},
                                                              const ProgressFn& progress = {});

// The pool gid of a model: inference_pool_gid, else a fresh uuid4 when
// autogenerate_inference_pool_gid (so call once per model load), else nullopt.
std::optional<std::string> poolGid(const settings::ModelParameters& parameters);
// The pool key (docs/environments.md#pools-and-workers): the environment key, the gid, "<env key>-<gid>" when both,
// "default" when none.
std::string poolKey(const std::optional<PreparedEnvironment>& environment, const std::optional<std::string>& gid);

// LD_LIBRARY_PATH for the environment's workers: its lib/ first, then `inherited` (the
// supervisor's own value; null or empty for none).
std::string workerLibraryPath(const PreparedEnvironment& environment, const char* inherited);

// The Python variables of the environment's workers (empty unless env.python):
//   RINGSERVE_PYTHON_PATH     its site-packages (the Python host puts them on sys.path and
//                             resolves .py implementations there)
//   RINGSERVE_PYTHON_LIBRARY  its own libpython (own interpreter only), with
//   PYTHONHOME                its prefix, PYTHONPATH "" and PYTHONNOUSERSITE 1 (nothing of the
//                             supervisor's Python leaks into another version's)
//   PATH                      its bin/ first, then `inheritedPath`
//   PYTHONPYCACHEPREFIX       env.pycachePrefix: the unpacked cache is content-addressed, so the
//                             compiled .pyc files live beside it, shared by every worker and restart
std::vector<std::pair<std::string, std::string>> workerPythonEnvironment(const PreparedEnvironment& environment,
                                                                         const char* inheritedPath);

// "sha256:<hex>" -> "sha256-<hex>" (the cache folder name).
std::string folderNameForKey(const std::string& key);

// A ProgressFn that logs "<label>: unpacked 40% (80 MiB of 200 MiB)" every 10% for tarballs of
// at least `minBytes`.
ProgressFn logProgress(std::string label, std::uint64_t minBytes = 64ull << 20);

}  // namespace ringserve::supervisor::environments
