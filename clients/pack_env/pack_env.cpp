#include "clients/pack_env/pack_env.hpp"

#include <elf.h>

#include <algorithm>
#include <map>

#include "clients/pack_env/plugin_probe.hpp"
#include "supervisor/environments/elf_file.hpp"
#include "supervisor/environments/manifest.hpp"
#include "supervisor/environments/sha256.hpp"

namespace ringserve::supervisor::environments {
namespace fs = std::filesystem;
namespace {

std::optional<EnvError> checkObject(const fs::path& file, const std::string& what) {
  std::error_code ec;
  if (!fs::exists(file, ec)) return EnvError{what + " " + file.string() + " does not exist"};
  auto elf = readElf(file);
  if (!elf) return EnvError{what + " " + file.string() + ": " + elf.error().message};
  if (elf->machine != hostElfMachine()) {
    return EnvError{what + " " + file.string() + " is built for " + elfMachineName(elf->machine) +
                    "; pack-env packs for this machine (" + elfMachineName(hostElfMachine()) + ")"};
  }
  return std::nullopt;
}

std::uint64_t sizeOf(const fs::path& p) {
  std::error_code ec;
  auto n = fs::file_size(p, ec);
  return ec ? 0 : n;
}

}  // namespace

EnvResult<PackReport> packEnvironment(const PackOptions& options, const PackProgressFn& progress) {
  auto report = [&](std::string_view stage, std::uint64_t done, std::uint64_t total) {
    if (progress) progress(stage, done, total);
  };
  if (options.plugins.empty() && !options.worker && !options.python && options.sitePackages.empty())
    return EnvError{"nothing to pack: give at least one plugin, --worker, --python or --site-packages"};
  if (options.output.empty()) return EnvError{"no output file given"};
  for (const auto& p : options.plugins) {
    if (auto e = checkObject(p, "plugin")) return *e;
  }
  for (const auto& l : options.includeLibs) {
    if (auto e = checkObject(l, "library")) return *e;
  }
  if (options.worker) {
    if (auto e = checkObject(*options.worker, "worker")) return *e;
  }

  PackReport out;
  if (options.python || !options.sitePackages.empty()) {
    report("collecting", 0, 1);
    auto python = collectPython(options.python, options.sitePackages);
    if (!python) return python.error();
    out.python = std::move(python).value();
    report("collecting", 1, 1);
  }

  // 1. Dependencies of everything that goes in (libpython's too: a Python built against a
  // libffi or OpenSSL outside the base system needs it packed).
  report("resolving", 0, 1);
  std::vector<fs::path> roots = options.plugins;
  if (out.python && out.python->libpython) roots.push_back(*out.python->libpython);
  roots.insert(roots.end(), options.includeLibs.begin(), options.includeLibs.end());
  if (options.worker) roots.push_back(*options.worker);
  auto deps = resolveDependencies(roots, options.resolver);
  if (!deps) return deps.error();
  report("resolving", 1, 1);

  std::map<std::string, fs::path> libByName;  // lib/<name> -> source (canonical)
  auto claim = [&](const std::string& name, const fs::path& source) -> std::optional<EnvError> {
    std::error_code ec;
    const fs::path real = fs::canonical(source, ec);
    auto [it, inserted] = libByName.emplace(name, ec ? source : real);
    if (!inserted && it->second != (ec ? source : real)) {
      return EnvError{"two different files would be packed as lib/" + name + ": " + it->second.string() + " and " +
                      source.string()};
    }
    return std::nullopt;
  };
  std::vector<fs::path> preload;
  for (const auto& d : *deps) {
    if (d.system) {
      out.systemLibraries.push_back(d.name);
      continue;
    }
    if (out.python && out.python->libpython && d.name == out.python->libpython->filename()) continue;  // packed below
    if (auto e = claim(d.name, d.path)) return *e;
    preload.push_back(d.path);
  }
  for (const auto& l : options.includeLibs) {
    if (auto e = claim(l.filename().string(), l)) return *e;
  }
  for (const auto& p : options.plugins) {
    if (auto e = claim(p.filename().string(), p)) return *e;
  }

  // 2. Each plugin's SDK ABI, asked from the plugin itself.
  out.manifest = currentBuildManifest();
  if (options.workerProtocol) out.manifest.protocol = *options.workerProtocol;
  SdkAbi highest{kSdkAbiMajor, 0};
  for (std::size_t i = 0; i < options.plugins.size(); ++i) {
    const auto& p = options.plugins[i];
    report("checking", i, options.plugins.size());
    auto info = probePlugin(p, preload);
    if (!info) return info.error();
    if (!sdkAbiCompatible(info->abiMajor, info->abiMinor)) {
      return EnvError{"plugin " + p.string() + " was built for SDK ABI " + std::to_string(info->abiMajor) + "." +
                      std::to_string(info->abiMinor) + "; this ringserve's workers load SDK ABI " +
                      std::to_string(kSdkAbiMajor) + ".0–" + std::to_string(kSdkAbiMajor) + "." +
                      std::to_string(kSdkAbiMinor) + " (rebuild the plugin against this SDK)"};
    }
    if (info->abiMinor > highest.minor) highest.minor = info->abiMinor;
    out.manifest.plugins.push_back({"lib/" + p.filename().string(), {info->abiMajor, info->abiMinor}, info->classes});
  }
  report("checking", options.plugins.size(), options.plugins.size());
  out.manifest.sdkAbi = options.plugins.empty() ? SdkAbi{kSdkAbiMajor, kSdkAbiMinor} : highest;

  // 3. The file list: worker, libraries (dependencies first), plugins.
  if (options.worker) {
    out.manifest.worker = kWorkerRelativePath;
    out.files.push_back({kWorkerRelativePath, *options.worker, sizeOf(*options.worker)});
  }
  for (const auto& [name, source] : libByName) {
    const bool isPlugin = std::any_of(options.plugins.begin(), options.plugins.end(),
                                      [&](const fs::path& p) { return p.filename() == name; });
    if (!isPlugin) out.manifest.libraries.push_back("lib/" + name);
    out.files.push_back({"lib/" + name, source, sizeOf(source)});
  }
  for (const auto& f : out.files) out.inputBytes += f.bytes;
  if (out.python) {
    for (const auto& f : out.python->files) out.inputBytes += f.bytes;
    out.manifest.pythonVersion = out.python->version.text();
    out.manifest.pythonAbi = out.python->abiTag;
  }

  // 4. The tarball.
  const auto format = options.format.value_or(tarFormatForName(options.output));
  auto writer = TarWriter::create(options.output, format,
                                  [&](std::uint64_t written) { report("packing", written, out.inputBytes); });
  if (!writer) return writer.error();
  if (auto e = writer->addBytes(manifestJson(out.manifest), kManifestFileName)) return *e;
  if (options.worker) {
    if (auto e = writer->addDirectory("bin")) return *e;
  }
  if (auto e = writer->addDirectory("lib")) return *e;
  for (const auto& f : out.files) {
    if (auto e = writer->addFile(f.source, f.pathInArchive, 0755u)) return *e;
  }
  if (out.python) {
    // Parent folders are created by the extractor.
    for (const auto& f : out.python->files) {
      auto e = f.linkTarget.empty() ? writer->addFile(f.source, f.pathInArchive, f.mode)
                                    : writer->addSymlink(f.linkTarget, f.pathInArchive);
      if (e) return *e;
    }
  }
  if (auto e = writer->finish()) return *e;
  out.tarballBytes = sizeOf(options.output);
  auto digest = sha256File(options.output);
  if (!digest) return digest.error();
  out.key = "sha256:" + *digest;
  return out;
}

}  // namespace ringserve::supervisor::environments
