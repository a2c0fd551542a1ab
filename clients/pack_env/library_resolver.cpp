#include "clients/pack_env/library_resolver.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <set>

namespace ringserve::supervisor::environments {
namespace fs = std::filesystem;
namespace {

std::vector<fs::path> splitColonList(const char* s) {
  std::vector<fs::path> out;
  if (s == nullptr) return out;
  std::string text = s;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    auto colon = text.find_first_of(":;", pos);
    if (colon == std::string::npos) colon = text.size();
    if (colon > pos) out.emplace_back(text.substr(pos, colon - pos));
    pos = colon + 1;
  }
  return out;
}

std::string expandOrigin(std::string dir, const fs::path& origin) {
  for (const char* token : {"${ORIGIN}", "$ORIGIN"}) {
    for (auto at = dir.find(token); at != std::string::npos; at = dir.find(token)) {
      dir.replace(at, std::strlen(token), origin.string());
    }
  }
  return dir;
}

bool underPrefix(const fs::path& p, const fs::path& prefix) {
  const std::string s = p.lexically_normal().string(), pre = prefix.string();
  return s.size() > pre.size() && s.compare(0, pre.size(), pre) == 0 && s[pre.size()] == '/';
}

struct Node {
  fs::path path;
  ElfInfo elf;
  std::vector<std::string> inheritedRpath;  // expanded RPATHs of the objects that led here
};

class Resolver {
 public:
  explicit Resolver(const ResolverOptions& o) : options_(o) {
    for (auto& [name, path] : readLdCache(o.ldCache)) cache_.emplace(name, path);
  }

  EnvResult<std::vector<ResolvedLibrary>> run(const std::vector<fs::path>& roots) {
    for (const auto& root : roots) {
      auto elf = readElf(root);
      if (!elf) return elf.error();
      std::error_code ec;
      Node node{fs::absolute(root, ec), std::move(elf).value(), {}};
      if (auto err = visit(node)) return *err;
    }
    return std::move(out_);
  }

 private:
  // Depth first, appending a library after everything it needs.
  std::optional<EnvError> visit(const Node& node) {
    std::error_code ec;
    const fs::path originDir = fs::weakly_canonical(node.path, ec).parent_path();
    std::vector<std::string> rpath = node.inheritedRpath;
    if (node.elf.runpath.empty()) {
      for (const auto& r : node.elf.rpath) rpath.push_back(expandOrigin(r, originDir));
    }
    for (const auto& name : node.elf.needed) {
      if (seen_.count(name)) continue;
      seen_.insert(name);
      auto found = find(name, node, originDir, rpath);
      if (!found) return found.error();
      ResolvedLibrary lib{name, found->first, node.path, false};
      lib.system = isGlibcLibrary(name);
      for (const auto& prefix : options_.systemPrefixes) lib.system = lib.system || underPrefix(lib.path, prefix);
      if (!lib.system) {
        Node child{lib.path, std::move(found->second), node.elf.runpath.empty() ? rpath : std::vector<std::string>{}};
        if (auto err = visit(child)) return err;
      }
      out_.push_back(std::move(lib));
    }
    return std::nullopt;
  }

  // The first candidate that is an ELF object of the requester's class and machine.
  EnvResult<std::pair<fs::path, ElfInfo>> find(const std::string& name, const Node& node, const fs::path& originDir,
                                               const std::vector<std::string>& rpath) {
    std::vector<fs::path> tried;
    auto accept = [&](const fs::path& candidate) -> std::optional<ElfInfo> {
      tried.push_back(candidate);
      std::error_code ec;
      if (!fs::is_regular_file(candidate, ec)) return std::nullopt;
      auto elf = readElf(candidate);
      if (!elf || elf->is64 != node.elf.is64 || elf->machine != node.elf.machine) return std::nullopt;
      return std::move(elf).value();
    };
    if (name.find('/') != std::string::npos) {
      if (auto e = accept(name)) return std::pair{fs::path(name), std::move(*e)};
    } else {
      std::vector<fs::path> dirs;
      for (const auto& r : rpath) dirs.emplace_back(r);
      for (const auto& d : options_.ldLibraryPath) dirs.push_back(d);
      for (const auto& r : node.elf.runpath) dirs.emplace_back(expandOrigin(r, originDir));
      for (const auto& d : dirs) {
        if (auto e = accept(d / name)) return std::pair{d / name, std::move(*e)};
      }
      auto [begin, end] = cache_.equal_range(name);
      for (auto it = begin; it != end; ++it) {
        if (auto e = accept(it->second)) return std::pair{fs::path(it->second), std::move(*e)};
      }
      for (const char* d : {"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu",
                            "/usr/lib/aarch64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"}) {
        if (auto e = accept(fs::path(d) / name)) return std::pair{fs::path(d) / name, std::move(*e)};
      }
    }
    std::string list;
    for (std::size_t i = 0; i < tried.size() && i < 12; ++i) list += (i ? ", " : "") + tried[i].parent_path().string();
    if (tried.size() > 12) list += ", ...";
    return EnvError{name + " (needed by " + node.path.string() + ") was not found; searched " +
                    (list.empty() ? std::string("nothing") : list) +
                    " and the ld.so cache; add its folder to LD_LIBRARY_PATH or pass it with --include-lib"};
  }

  const ResolverOptions& options_;
  std::multimap<std::string, std::string> cache_;
  std::set<std::string> seen_;
  std::vector<ResolvedLibrary> out_;
};

}  // namespace

ResolverOptions ResolverOptions::fromEnvironment() {
  ResolverOptions o;
  o.ldLibraryPath = splitColonList(std::getenv("LD_LIBRARY_PATH"));
  return o;
}

EnvResult<std::vector<ResolvedLibrary>> resolveDependencies(const std::vector<fs::path>& roots,
                                                            const ResolverOptions& options) {
  return Resolver(options).run(roots);
}

bool isGlibcLibrary(const std::string& name) {
  static const std::set<std::string> kGlibc = {"libc.so.6",
                                               "libm.so.6",
                                               "libpthread.so.0",
                                               "libdl.so.2",
                                               "librt.so.1",
                                               "libresolv.so.2",
                                               "libutil.so.1",
                                               "libanl.so.1",
                                               "libnsl.so.1",
                                               "libmvec.so.1",
                                               "libBrokenLocale.so.1",
                                               "ld-linux-x86-64.so.2",
                                               "ld-linux-aarch64.so.1",
                                               "ld-linux.so.2",
                                               "linux-vdso.so.1"};
  return kGlibc.count(name) > 0;
}

std::vector<std::pair<std::string, std::string>> readLdCache(const fs::path& file) {
  std::vector<std::pair<std::string, std::string>> out;
  std::ifstream in(file, std::ios::binary | std::ios::ate);
  if (!in) return out;
  std::string data(static_cast<std::size_t>(std::max<std::streamoff>(0, in.tellg())), '\0');
  in.seekg(0);
  if (!in.read(data.data(), static_cast<std::streamsize>(data.size()))) return out;
  static constexpr char kMagic[] = "glibc-ld.so.cache1.1";
  const std::size_t header = data.find(kMagic);  // after an old-format part, when there is one
  if (header == std::string::npos) return out;
  auto u32 = [&](std::size_t at) -> std::optional<std::uint32_t> {
    if (at + 4 > data.size()) return std::nullopt;
    std::uint32_t v;
    std::memcpy(&v, data.data() + at, 4);
    return v;
  };
  // struct cache_file_new: magic[17] version[3] nlibs len_strings flags[4] extension_offset unused[3]
  auto nlibs = u32(header + 20);
  if (!nlibs) return out;
  constexpr std::size_t kHeaderSize = 48, kEntrySize = 24;  // file_entry_new: flags key value osversion hwcap(8)
  auto str = [&](std::uint32_t offset) -> std::optional<std::string> {
    std::size_t at = header + offset;  // string offsets are relative to the new-format header
    if (at >= data.size()) return std::nullopt;
    auto end = data.find('\0', at);
    if (end == std::string::npos) return std::nullopt;
    return data.substr(at, end - at);
  };
  for (std::uint32_t i = 0; i < *nlibs; ++i) {
    const std::size_t entry = header + kHeaderSize + i * kEntrySize;
    auto key = u32(entry + 4), value = u32(entry + 8);
    if (!key || !value) break;
    auto k = str(*key), v = str(*value);
    if (k && v) out.emplace_back(*k, *v);
  }
  return out;
}

}  // namespace ringserve::supervisor::environments
