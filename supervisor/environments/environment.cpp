#include "supervisor/environments/environment.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>

#include "supervisor/environments/digest_cache.hpp"
#include "supervisor/environments/elf_file.hpp"
#include "supervisor/environments/file_lock.hpp"
#include "supervisor/environments/safe_extract.hpp"
#include "supervisor/environments/sha256.hpp"
#include "transport/unique_fd.hpp"

namespace ringserve::supervisor::environments {
namespace fs = std::filesystem;
namespace {

std::string shortLabel(const std::string& key, const fs::path& source) {
  const auto colon = key.find(':');
  std::string shortKey = colon == std::string::npos ? key : key.substr(0, colon + 1 + 12) + "…";
  return "environment " + shortKey + " (" + source.string() + ")";
}

std::string ioError(const std::string& what, const std::error_code& ec) { return what + ": " + ec.message(); }

void removeTree(const fs::path& p) {
  std::error_code ec;
  fs::remove_all(p, ec);
  if (ec) spdlog::warn("cannot remove {}: {}", p.string(), ec.message());
}

std::uint64_t treeBytes(const fs::path& root) {
  std::uint64_t total = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec), end;
       !ec && it != end; it.increment(ec)) {
    std::error_code sec;
    if (it->is_regular_file(sec) && !it->is_symlink(sec)) total += it->file_size(sec);
  }
  return total;
}

struct Marker {
  std::uint64_t bytes = 0;
  std::string sha256;
};

std::optional<Marker> readMarker(const fs::path& root) {
  std::ifstream in(root / kCompleteMarker);
  if (!in) return std::nullopt;
  Marker m;
  std::string word;
  while (in >> word) {
    if (word == "bytes")
      in >> m.bytes;
    else if (word == "sha256")
      in >> m.sha256;
  }
  return m;
}

std::optional<EnvError> writeDurably(const fs::path& file, const std::string& text) {
  transport::UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) return EnvError{"cannot write " + file.string() + ": " + std::strerror(errno)};
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return EnvError{"cannot write " + file.string() + ": " + std::strerror(errno)};
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return EnvError{"cannot sync " + file.string() + ": " + std::strerror(errno)};
  return std::nullopt;
}

void syncDirectory(const fs::path& dir, bool wholeFilesystem) {
  transport::UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return;
  if (wholeFilesystem)
    ::syncfs(fd.get());
  else
    ::fsync(fd.get());
}

// The manifest's python_version / python_abi must say what the environment holds.
std::optional<EnvError> checkManifestPython(const PreparedEnvironment& env) {
  if (!env.manifest || !env.manifest->pythonVersion) return std::nullopt;
  const std::string said = "Python " + *env.manifest->pythonVersion + " (" + env.manifest->pythonAbi.value_or("") + ")";
  if (!env.python) {
    return EnvError{env.label + ": its " + kManifestFileName + " says " + said + " but it holds no lib/python" +
                    *env.manifest->pythonVersion + " nor libpython"};
  }
  const auto& p = *env.python;
  const std::string holds = "Python " + p.version.text() + " (" + p.abiTag + ", " +
                            (p.libpython ? p.libpython->filename().string() : "packages only") + ")";
  if (parsePythonVersion(*env.manifest->pythonVersion) != p.version || env.manifest->pythonAbi != p.abiTag) {
    return EnvError{env.label + ": its " + kManifestFileName + " says " + said + " but it holds " + holds};
  }
  return std::nullopt;
}

// Fills in what both kinds of environment share and runs the checks that precede any launch.
EnvResult<PreparedEnvironment> describe(PreparedEnvironment env) {
  env.libDir = env.root / "lib";
  const fs::path worker = env.root / kWorkerRelativePath;
  std::error_code ec;
  if (fs::exists(worker, ec)) {
    const std::string what = env.label + ": " + kWorkerRelativePath;
    if (!fs::is_regular_file(worker, ec)) return EnvError{what + " is not a regular file"};
    if (::access(worker.c_str(), X_OK) != 0) return EnvError{what + " is not executable"};
    char head[2] = {};
    std::ifstream(worker, std::ios::binary).read(head, 2);
    if (!(head[0] == '#' && head[1] == '!')) {
      auto elf = readElf(worker);
      if (!elf) return EnvError{what + ": " + elf.error().message};
      if (elf->machine != hostElfMachine()) {
        return EnvError{what + " is built for " + elfMachineName(elf->machine) + "; this server runs on " +
                        elfMachineName(hostElfMachine())};
      }
    }
    env.workerExecutable = worker;
  }
  auto manifest = readManifest(env.root);
  if (!manifest) return EnvError{env.label + ": " + manifest.error().message};
  env.manifest = std::move(manifest).value();
  if (env.manifest) {
    auto warnings = checkManifest(*env.manifest, env.label, env.workerExecutable.has_value());
    if (!warnings) return warnings.error();
    env.warnings.insert(env.warnings.end(), warnings->begin(), warnings->end());
  } else {
    env.warnings.push_back(env.label + " has no " + std::string(kManifestFileName) +
                           ": its architecture and versions are not checked before launch");
  }
  auto python = detectPython(env.root, env.label);
  if (!python) return python.error();
  env.python = std::move(python).value();
  if (env.python) env.warnings.insert(env.warnings.end(), env.python->warnings.begin(), env.python->warnings.end());
  if (auto e = checkManifestPython(env)) return *e;
  return env;
}

}  // namespace

std::string folderNameForKey(const std::string& key) {
  std::string out = key;
  for (char& c : out) {
    if (c == ':' || c == '/') c = '-';
  }
  return out;
}

EnvResult<PreparedEnvironment> prepareTarball(const fs::path& tarballIn, const fs::path& environmentsDirIn,
                                              const Limits& limits, const ProgressFn& progress) {
  std::error_code ec;
  const fs::path tarball = fs::absolute(tarballIn, ec).lexically_normal();
  if (!fs::exists(tarball, ec)) return EnvError{"environment tarball " + tarball.string() + " does not exist"};
  if (!fs::is_regular_file(tarball, ec))
    return EnvError{"environment tarball " + tarball.string() + " is not a regular file"};

  fs::create_directories(environmentsDirIn, ec);
  if (ec) return EnvError{ioError("cannot create environments_dir " + environmentsDirIn.string(), ec)};
  // Canonical, so that no symlink lies on the path libarchive checks entries against.
  const fs::path envDir = fs::canonical(environmentsDirIn, ec);
  if (ec) return EnvError{ioError("cannot resolve environments_dir " + environmentsDirIn.string(), ec)};
  fs::create_directories(envDir / ".locks", ec);
  if (ec) return EnvError{ioError("cannot create " + (envDir / ".locks").string(), ec)};

  auto digest = tarballDigest(tarball, envDir / ".digests");
  if (!digest) return digest.error();
  PreparedEnvironment env;
  env.key = "sha256:" + *digest;
  env.source = tarball;
  env.label = shortLabel(env.key, tarball);
  const std::string folder = folderNameForKey(env.key);
  env.root = envDir / folder;

  auto lock = FileLock::acquire(envDir / ".locks" / (folder + ".lock"));
  if (!lock) return lock.error();

  if (fs::exists(env.root / kCompleteMarker, ec)) {
    auto marker = readMarker(env.root);
    env.bytes = marker ? marker->bytes : 0;
    env.unpackedNow = false;
    return describe(std::move(env));
  }
  // We hold the key's lock, so every leftover is from an unpacker that died.
  if (fs::exists(env.root, ec)) {
    spdlog::warn("{}: removing {}, an incomplete unpack (no {})", env.label, env.root.string(), kCompleteMarker);
    removeTree(env.root);
  }
  const std::string tmpPrefix = ".unpack-" + *digest + "-";
  for (const auto& e : fs::directory_iterator(envDir, ec)) {
    if (e.path().filename().string().starts_with(tmpPrefix)) removeTree(e.path());
  }

  const fs::path tmp = envDir / (tmpPrefix + std::to_string(::getpid()));
  fs::create_directory(tmp, ec);
  if (ec) return EnvError{ioError("cannot create " + tmp.string(), ec)};
  const auto start = std::chrono::steady_clock::now();
  auto fail = [&](EnvError e) -> EnvResult<PreparedEnvironment> {
    removeTree(tmp);
    return e;
  };
  auto stats = extractArchive(tarball, tmp, limits, progress);
  if (!stats) return fail(stats.error());
  if (stats->sha256 != *digest) {
    forgetTarballDigest(tarball, envDir / ".digests");
    return fail(
        EnvError{"environment tarball " + tarball.string() + " changed while it was being unpacked; try again"});
  }
  if (limits.syncBeforeCommit) syncDirectory(tmp, true);
  std::ostringstream marker;
  marker << "bytes " << stats->bytes << "\nentries " << stats->entries << "\nsha256 " << stats->sha256 << "\nsource "
         << tarball.string() << "\n";
  if (auto e = writeDurably(tmp / kCompleteMarker, marker.str())) return fail(*e);
  if (::rename(tmp.c_str(), env.root.c_str()) != 0) {
    return fail(EnvError{"cannot rename " + tmp.string() + " to " + env.root.string() + ": " + std::strerror(errno)});
  }
  syncDirectory(envDir, false);
  env.unpackSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  env.bytes = stats->bytes;
  env.unpackedNow = true;
  return describe(std::move(env));
}

EnvResult<PreparedEnvironment> prepareDirectory(const fs::path& environmentPath) {
  std::error_code ec;
  fs::path root = fs::absolute(environmentPath, ec).lexically_normal();
  if (!root.has_filename() && root.has_parent_path()) root = root.parent_path();  // "a/b/" -> "a/b"
  if (!fs::exists(root, ec)) return EnvError{"environment_path " + root.string() + " does not exist"};
  if (!fs::is_directory(root, ec)) return EnvError{"environment_path " + root.string() + " is not a folder"};
  PreparedEnvironment env;
  env.key = "path:" + sha256Hex(root.string());
  env.source = root;
  env.label = shortLabel(env.key, root);
  env.root = root;
  env.bytes = treeBytes(root);
  return describe(std::move(env));
}

EnvResult<std::optional<PreparedEnvironment>> prepareForModel(const settings::ModelParameters& p,
                                                              const fs::path& environmentsDir, const Limits& limits,
                                                              const ProgressFn& progress) {
  if (p.environmentPath) {
    auto env = prepareDirectory(*p.environmentPath);
    if (!env) return env.error();
    env->pycachePrefix = environmentsDir / ".pycache" / folderNameForKey(env->key);
    return std::optional<PreparedEnvironment>(std::move(env).value());
  }
  if (p.environmentTarball) {
    auto env = prepareTarball(*p.environmentTarball, environmentsDir, limits, progress);
    if (!env) return env.error();
    env->pycachePrefix = env->root.parent_path() / ".pycache" / env->root.filename();
    return std::optional<PreparedEnvironment>(std::move(env).value());
  }
  return std::optional<PreparedEnvironment>{};
}

std::optional<std::string> poolGid(const settings::ModelParameters& p) {
  if (p.inferencePoolGid) return p.inferencePoolGid;
  if (!p.autogenerateInferencePoolGid) return std::nullopt;
  // uuid4 from std::random_device (the kernel's CSPRNG on Linux).
  std::random_device rd;
  unsigned char b[16];
  for (int i = 0; i < 16; i += 4) {
    const auto v = rd();
    for (int k = 0; k < 4; ++k) b[i + k] = static_cast<unsigned char>(v >> (8 * k));
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0xf]);
  }
  return out;
}

std::string poolKey(const std::optional<PreparedEnvironment>& environment, const std::optional<std::string>& gid) {
  if (environment && gid) return environment->key + "-" + *gid;
  if (environment) return environment->key;
  if (gid) return *gid;
  return "default";
}

std::string workerLibraryPath(const PreparedEnvironment& environment, const char* inherited) {
  std::string out = environment.libDir.string();
  if (inherited != nullptr && *inherited != '\0') out += std::string(":") + inherited;
  return out;
}

std::vector<std::pair<std::string, std::string>> workerPythonEnvironment(const PreparedEnvironment& e,
                                                                         const char* inheritedPath) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!e.python) return out;
  const auto& p = *e.python;
  std::string path;
  for (const auto& s : p.sitePackages) path += (path.empty() ? "" : ":") + s.string();
  out.emplace_back("RINGSERVE_PYTHON_PATH", path);
  if (p.libpython) {
    out.emplace_back("RINGSERVE_PYTHON_LIBRARY", p.libpython->string());
    out.emplace_back("PYTHONHOME", p.home->string());
    out.emplace_back("PYTHONPATH", "");
    out.emplace_back("PYTHONNOUSERSITE", "1");
  }
  if (p.binDir) {
    std::string bin = p.binDir->string();
    if (inheritedPath != nullptr && *inheritedPath != '\0') bin += std::string(":") + inheritedPath;
    out.emplace_back("PATH", bin);
  }
  if (!e.pycachePrefix.empty()) out.emplace_back("PYTHONPYCACHEPREFIX", e.pycachePrefix.string());
  return out;
}

ProgressFn logProgress(std::string label, std::uint64_t minBytes) {
  auto nextTenth = std::make_shared<int>(1);
  return [label = std::move(label), minBytes, nextTenth](std::uint64_t done, std::uint64_t total) {
    if (total < minBytes || total == 0) return;
    const int tenth = static_cast<int>(done * 10 / total);
    if (tenth < *nextTenth) return;
    *nextTenth = tenth + 1;
    spdlog::info("{}: unpacked {}% ({} MiB of {} MiB)", label, tenth * 10, done >> 20, total >> 20);
  };
}

}  // namespace ringserve::supervisor::environments
