#include "clients/pack_env/pack_python.hpp"

#include <sys/stat.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>

namespace ringserve::supervisor::environments {
namespace fs = std::filesystem;
namespace {

bool isFile(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

// Folders of the standard library that are not needed to run (any depth) or only at the top.
bool leftOutAnywhere(const std::string& name) {
  return name == "__pycache__" || name == "test" || name == "tests" || name == "idle_test";
}
bool leftOutAtTop(const std::string& name) {
  static const std::set<std::string> kTop{"idlelib",   "tkinter",       "turtledemo",
                                          "ensurepip", "site-packages", "dist-packages"};
  return kTop.count(name) != 0 || name.starts_with("config-");
}

// .../lib/python3.11/site-packages -> 3.11 (nullopt when the path names no version).
std::optional<PythonVersion> versionOfSitePackages(const fs::path& dir) {
  static const std::regex re(R"(python(\d)\.(\d+)[a-z]*)");
  const fs::path parent = dir.lexically_normal().parent_path();
  const std::string name = (dir.filename().empty() ? parent.parent_path() : parent).filename().string();
  std::smatch m;
  if (!std::regex_match(name, m, re)) return std::nullopt;
  return PythonVersion{std::stoi(m[1]), std::stoi(m[2])};
}

class Collector {
 public:
  explicit Collector(PythonPack& pack) : pack_(pack) {}

  std::optional<EnvError> file(const fs::path& source, const std::string& inArchive, PythonPackPart& part) {
    struct stat st {};
    if (::stat(source.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;  // dangling link, socket...
    if (auto tag = extensionModuleVersion(source.filename().string()); tag && !(*tag == pack_.version)) {
      return EnvError{"mixed ABI tags: " + source.string() + " is an extension module for CPython " + tag->text() +
                      "; the environment is for Python " + pack_.version.text()};
    }
    if (auto e = claim(inArchive, source)) return e;
    pack_.files.push_back(
        {inArchive, source, {}, static_cast<std::uint64_t>(st.st_size), (st.st_mode & 0111) ? 0755u : 0644u});
    part.files += 1;
    part.bytes += static_cast<std::uint64_t>(st.st_size);
    return std::nullopt;
  }
  std::optional<EnvError> link(const std::string& target, const std::string& inArchive) {
    if (auto e = claim(inArchive, "-> " + target)) return e;
    pack_.files.push_back({inArchive, {}, target, 0, 0777});
    return std::nullopt;
  }

  // Every file under `dir` into `inArchive/` (symlinks followed: a tree packed from anywhere must
  // stay whole). `top` says which folders are left out at its first level.
  std::optional<EnvError> tree(const fs::path& dir, const std::string& inArchive, PythonPackPart& part, bool stdlib) {
    std::error_code ec;
    fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
    if (ec) return EnvError{"cannot read " + dir.string() + ": " + ec.message()};
    for (; it != end; it.increment(ec)) {
      if (ec) return EnvError{"cannot read " + dir.string() + ": " + ec.message()};
      const std::string name = it->path().filename().string();
      std::error_code sec;
      if (it->is_directory(sec)) {
        if (leftOutAnywhere(name) || (stdlib && it.depth() == 0 && leftOutAtTop(name))) {
          countLeftOut(it->path());
          it.disable_recursion_pending();
        }
        continue;
      }
      if (name.ends_with(".pyc") || (stdlib && name.starts_with("_tkinter."))) {
        countLeftOut(it->path());
        continue;
      }
      const std::string rel = it->path().lexically_relative(dir).generic_string();
      if (auto e = file(it->path(), inArchive + "/" + rel, part)) return e;
    }
    return std::nullopt;
  }

 private:
  std::optional<EnvError> claim(const std::string& inArchive, const fs::path& source) {
    auto [it, inserted] = owners_.emplace(inArchive, source);
    if (!inserted) {
      return EnvError{"two files would be packed as " + inArchive + ": " + it->second.string() + " and " +
                      source.string()};
    }
    return std::nullopt;
  }
  void countLeftOut(const fs::path& p) {
    std::error_code ec;
    if (fs::is_regular_file(p, ec)) {
      pack_.leftOut.files += 1;
      pack_.leftOut.bytes += fs::file_size(p, ec);
      return;
    }
    for (fs::recursive_directory_iterator it(p, ec), end; !ec && it != end; it.increment(ec)) {
      std::error_code sec;
      if (it->is_regular_file(sec)) {
        pack_.leftOut.files += 1;
        pack_.leftOut.bytes += it->file_size(sec);
      }
    }
  }

  PythonPack& pack_;
  std::map<std::string, fs::path> owners_;
};

std::optional<fs::path> findLibpython(const fs::path& lib, std::optional<PythonVersion>& version) {
  static const std::regex re(R"(libpython(\d)\.(\d+)(d?)\.so\.1\.0)");
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(lib, ec)) {
    std::smatch m;
    const std::string name = e.path().filename().string();
    if (std::regex_match(name, m, re) && isFile(e.path())) {
      version = PythonVersion{std::stoi(m[1]), std::stoi(m[2])};
      return e.path();
    }
  }
  return std::nullopt;
}

// The interpreter part: bin/, lib/libpython*, the trimmed standard library. Returns the venv's
// site-packages (if PREFIX is a venv) through `venvSite`.
std::optional<EnvError> collectInterpreter(const fs::path& prefixIn, PythonPack& pack, Collector& c,
                                           std::optional<fs::path>& venvSite) {
  std::error_code ec;
  const fs::path prefix = fs::absolute(prefixIn, ec).lexically_normal();
  if (!fs::is_directory(prefix, ec))
    return EnvError{"--python " + prefix.string() + " does not exist or is not a folder"};
  fs::path base = prefix;
  const bool venv = venvHome(prefix).has_value();
  if (venv) {
    const fs::path home = *venvHome(prefix);
    base = home.lexically_normal().parent_path();
    if (home.empty() || !fs::is_directory(base / "lib", ec)) {
      return EnvError{"--python " + prefix.string() + " is a venv whose base Python (home = " +
                      (home.empty() ? std::string("<missing>") : home.string()) + " in pyvenv.cfg) is missing"};
    }
  }
  std::optional<PythonVersion> version;
  auto libpython = findLibpython(base / "lib", version);
  if (!libpython) {
    return EnvError{
        "--python " + prefix.string() + (venv ? " is a venv whose base Python " + base.string() : std::string()) +
        " has no shared libpython (lib/libpython3.X.so.1.0): pack-env needs a Python built with --enable-shared"};
  }
  if (pythonCompatibility(*version, true, *version) == Compatibility::unsupported) {
    return EnvError{"--python " + prefix.string() + " is Python " + version->text() +
                    "; the Python host runs CPython 3." + std::to_string(kOldestPythonMinor) +
                    " and later (stable ABI)"};
  }
  pack.version = *version;
  pack.abiTag = version->abiTag() + (libpython->filename().string().find("d.so") != std::string::npos ? "d" : "");
  pack.ownInterpreter = true;
  pack.libpython = libpython;
  const std::string ver = version->text();
  const fs::path stdlib = base / "lib" / ("python" + ver);
  if (!isFile(stdlib / "os.py")) {
    return EnvError{"--python " + prefix.string() + ": " + libpython->string() + " has no standard library (" +
                    (stdlib / "os.py").string() + " is missing)"};
  }
  if (venv) {
    const fs::path site = prefix / "lib" / ("python" + ver) / "site-packages";
    if (!fs::is_directory(site, ec)) {
      return EnvError{"--python " + prefix.string() + " is a venv without lib/python" + ver +
                      "/site-packages, but its base Python " + base.string() + " is " + ver};
    }
    venvSite = site;
  }
  const fs::path interpreter = base / "bin" / ("python" + ver);
  if (isFile(interpreter)) {
    if (auto e = c.file(interpreter, "bin/python" + ver, pack.interpreter)) return e;
    if (auto e = c.link("python" + ver, "bin/python3")) return e;
    if (auto e = c.link("python" + ver, "bin/python")) return e;
  }
  const std::string soname = libpython->filename().string();
  if (auto e = c.file(*libpython, "lib/" + soname, pack.interpreter)) return e;
  if (auto e = c.link(soname, "lib/" + soname.substr(0, soname.size() - 4))) return e;  // libpython3.X.so
  if (isFile(base / "lib" / "libpython3.so")) {
    if (auto e = c.file(base / "lib" / "libpython3.so", "lib/libpython3.so", pack.interpreter)) return e;
  }
  return c.tree(stdlib, "lib/python" + ver, pack.standardLibrary, true);
}

}  // namespace

EnvResult<PythonPack> collectPython(const std::optional<fs::path>& prefix, const std::vector<fs::path>& sitePackages,
                                    PythonVersion worker) {
  PythonPack pack;
  Collector c(pack);
  std::optional<fs::path> venvSite;
  if (prefix) {
    if (auto e = collectInterpreter(*prefix, pack, c, venvSite)) return *e;
  } else {
    // Packages only: for the Python their folder names, else the worker's.
    pack.version = worker;
    for (const auto& d : sitePackages) {
      if (auto v = versionOfSitePackages(d)) {
        pack.version = *v;
        break;
      }
    }
    pack.abiTag = pack.version.abiTag();
  }
  std::vector<fs::path> dirs;
  if (venvSite) dirs.push_back(*venvSite);
  dirs.insert(dirs.end(), sitePackages.begin(), sitePackages.end());
  const std::string target = "lib/python" + pack.version.text() + "/site-packages";
  for (const auto& d : dirs) {
    std::error_code ec;
    if (!fs::is_directory(d, ec))
      return EnvError{"--site-packages " + d.string() + " does not exist or is not a folder"};
    if (auto v = versionOfSitePackages(d); v && !(*v == pack.version)) {
      return EnvError{"--site-packages " + d.string() + " is for Python " + v->text() +
                      "; the environment is for Python " + pack.version.text() +
                      (prefix ? " (--python " + prefix->string() + ")" : std::string())};
    }
    if (auto e = c.tree(d, target, pack.sitePackages, false)) return *e;
  }
  return pack;
}

}  // namespace ringserve::supervisor::environments
