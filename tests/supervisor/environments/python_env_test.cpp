// Python environments (issue 12): layouts recognised, what is refused and how, the manifest's
// Python fields, the workers' variables, the README's Python table, and `pack-env --python` with
// the machine's own CPython builds (pyenv's, found at test time).
#include "supervisor/environments/python_env.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "clients/pack_env/pack_env.hpp"
#include "clients/pack_env/pack_env_command.hpp"
#include "supervisor/environments/environment.hpp"
#include "tests/clients/pack_env/pack_refused.hpp"
#include "tests/supervisor/environments/tar_reader.hpp"
#include "tests/supervisor/environments/temp_dir.hpp"

namespace ringserve::supervisor::environments {
namespace {
using envtest::readTar;
using envtest::TempDir;
using envtest::writeText;
namespace fs = std::filesystem;
using ::testing::HasSubstr;

const PythonVersion k311{3, 11};
const PythonVersion k312{3, 12};

void touch(const fs::path& p, const std::string& text = "") {
  fs::create_directories(p.parent_path());
  writeText(p, text);
}

// A Python "prefix" made of the names detection reads (no real interpreter needed).
void fakePrefix(const fs::path& root, const std::string& ver) {
  touch(root / "lib" / ("libpython" + ver + ".so.1.0"));
  fs::create_symlink("libpython" + ver + ".so.1.0", root / "lib" / ("libpython" + ver + ".so"));
  touch(root / "lib" / ("python" + ver) / "os.py");
}

std::string run(const std::string& command, int& status) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  status = ::pclose(p);
  return out;
}

// pyenv's CPython builds with a shared libpython: minor -> prefix.
std::map<int, fs::path> pyenvPythons() {
  std::map<int, fs::path> out;
  int status = 0;
  std::string root = run("pyenv root 2>/dev/null", status);
  while (!root.empty() && root.back() == '\n') root.pop_back();
  if (root.empty() && std::getenv("HOME") != nullptr) root = std::string(std::getenv("HOME")) + "/.pyenv";
  std::error_code ec;
  static const std::regex re(R"(3\.(\d+)\.\d+)");
  for (const auto& e : fs::directory_iterator(fs::path(root) / "versions", ec)) {
    std::smatch m;
    const std::string name = e.path().filename().string();
    if (!std::regex_match(name, m, re)) continue;
    const int minor = std::stoi(m[1]);
    if (minor >= kOldestPythonMinor && fs::exists(e.path() / "lib" / ("libpython3." + m[1].str() + ".so.1.0")))
      out[minor] = e.path();
  }
  return out;
}

TEST(PythonEnv, MlserverLayoutRunsOnTheWorkersPython) {
  TempDir t;
  touch(t / "lib/python3.11/site-packages/onlyhere/__init__.py");
  touch(t / "lib/python3.11/site-packages/mlserver/__init__.py");
  touch(t / "bin/tool");
  auto r = detectPython(t.path(), "env", k311);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(r->has_value());
  const auto& p = **r;
  EXPECT_EQ(p.version, k311);
  EXPECT_EQ(p.abiTag, "cp311");
  EXPECT_FALSE(p.libpython);
  ASSERT_EQ(p.sitePackages.size(), 1u);
  EXPECT_EQ(p.sitePackages[0], t / "lib/python3.11/site-packages");
  EXPECT_EQ(p.binDir, t / "bin");
  EXPECT_TRUE(p.shadowsMlserver);
}

TEST(PythonEnv, NotAPythonEnvironment) {
  TempDir t;
  touch(t / "lib/libfoo.so.1");
  touch(t / "lib/libpython3.so");  // the version-less stable-ABI forwarder says nothing
  auto r = detectPython(t.path(), "env", k311);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
}

TEST(PythonEnv, PackagesForAnotherPythonWithoutAnInterpreterAreRefusedNamingBoth) {
  TempDir t;
  touch(t / "lib/python3.10/site-packages/pkg/__init__.py");
  auto r = detectPython(t.path(), "environment X", k311);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("environment X holds packages for Python 3.10"));
  EXPECT_THAT(r.error().message, HasSubstr("the worker's Python is 3.11"));
}

TEST(PythonEnv, OwnInterpreter) {
  TempDir t;
  fakePrefix(t.path(), "3.12");
  touch(t / "lib/python3.12/site-packages/pkg/_fast.abi3.so");  // stable-ABI modules fit any version
  touch(t / "lib/python3.12/site-packages/pkg/_c.cpython-312-x86_64-linux-gnu.so");
  auto r = detectPython(t.path(), "env", k311);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& p = **r;
  EXPECT_EQ(p.version, k312);
  EXPECT_EQ(p.abiTag, "cp312");
  EXPECT_EQ(p.libpython, t / "lib/libpython3.12.so.1.0");
  EXPECT_EQ(p.home, t.path());
  EXPECT_TRUE(p.warnings.empty());
}

TEST(PythonEnv, ExtensionModulesOfAnotherVersionAreRefusedNamingBoth) {
  TempDir t;
  fakePrefix(t.path(), "3.12");
  touch(t / "lib/python3.12/site-packages/numpy/core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so");
  auto r = detectPython(t.path(), "env", k311);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("runs on Python 3.12 (lib/libpython3.12.so.1.0)"));
  EXPECT_THAT(r.error().message, HasSubstr("1 extension module for CPython 3.11"));
  EXPECT_THAT(r.error().message, HasSubstr("_multiarray_umath.cpython-311-x86_64-linux-gnu.so"));
  EXPECT_EQ(r.error().message.find('\n'), std::string::npos);
}

TEST(PythonEnv, InconsistentInterpretersAreRefused) {
  {
    TempDir t;  // libpython 3.12, packages for 3.11
    touch(t / "lib/libpython3.12.so.1.0");
    touch(t / "lib/python3.11/site-packages/x.py");
    auto r = detectPython(t.path(), "env", k311);
    ASSERT_FALSE(r.ok());
    EXPECT_THAT(r.error().message, HasSubstr("is Python 3.12 but its packages (lib/python3.11) are for Python 3.11"));
  }
  {
    TempDir t;  // no standard library
    touch(t / "lib/libpython3.12.so.1.0");
    auto r = detectPython(t.path(), "env", k311);
    ASSERT_FALSE(r.ok());
    EXPECT_THAT(r.error().message, HasSubstr("has no standard library (lib/python3.12/os.py is missing)"));
  }
  {
    TempDir t;  // two Pythons
    touch(t / "lib/python3.11/site-packages/x.py");
    touch(t / "lib/python3.12/site-packages/x.py");
    auto r = detectPython(t.path(), "env", k311);
    ASSERT_FALSE(r.ok());
    EXPECT_THAT(r.error().message, HasSubstr("holds packages for two Pythons (lib/python3.11 and lib/python3.12)"));
  }
  {
    TempDir t;  // free-threaded: no stable ABI
    touch(t / "lib/libpython3.13t.so.1.0");
    touch(t / "lib/python3.13t/os.py");
    auto r = detectPython(t.path(), "env", k311);
    ASSERT_FALSE(r.ok());
    EXPECT_THAT(r.error().message, HasSubstr("free-threaded"));
  }
}

TEST(PythonEnv, VersionsOutsideTheHostsRange) {
  TempDir old;
  fakePrefix(old.path(), "3.7");
  auto r = detectPython(old.path(), "env", k311);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("brings Python 3.7; the Python host runs CPython 3.8–3.13"));
  TempDir next;
  fakePrefix(next.path(), "3.14");
  auto n = detectPython(next.path(), "env", k311);
  ASSERT_TRUE(n.ok()) << n.error().message;
  ASSERT_EQ((*n)->warnings.size(), 1u);
  EXPECT_THAT((*n)->warnings[0], HasSubstr("Python 3.14, newer than the tested CPython 3.8–3.13 (untested, accepted"));
}

TEST(PythonEnv, VenvUsesItsBasePythonOrFallsBackToTheWorkers) {
  TempDir base, venv;
  fakePrefix(base.path(), "3.12");
  touch(venv / "lib/python3.12/site-packages/pkg.py");
  touch(venv / "pyvenv.cfg", "home = " + (base / "bin").string() + "\nversion = 3.12.1\n");
  auto r = detectPython(venv.path(), "env", k311);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)->libpython, base / "lib/libpython3.12.so.1.0");
  EXPECT_EQ((*r)->home, base.path());
  EXPECT_EQ((*r)->sitePackages.at(0), venv / "lib/python3.12/site-packages");

  TempDir orphan;  // base gone: its packages can still run on a worker Python of the same minor
  touch(orphan / "lib/python3.11/site-packages/pkg.py");
  touch(orphan / "pyvenv.cfg", "home = /nonexistent/python/bin\n");
  auto o = detectPython(orphan.path(), "env", k311);
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_FALSE((*o)->libpython);
  ASSERT_EQ((*o)->warnings.size(), 1u);
  EXPECT_THAT((*o)->warnings[0],
              HasSubstr("is a venv whose base Python (/nonexistent/python) has no shared libpython3.11"));
}

TEST(PythonEnv, ManifestPythonFields) {
  auto m = currentBuildManifest();
  m.pythonVersion = "3.12";
  m.pythonAbi = "cp312";
  auto back = parseManifest(manifestJson(m), "m.json");
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->pythonVersion, "3.12");
  EXPECT_EQ(back->pythonAbi, "cp312");
  const std::string base = R"({"format": 1, "architecture": "x86_64", "protocol_version": "1.0", "sdk_abi": "1.0")";
  auto half = parseManifest(base + R"(, "python_version": "3.12"})", "m.json");
  ASSERT_FALSE(half.ok());
  EXPECT_THAT(half.error().message, HasSubstr("'python_version' and 'python_abi' go together"));
  auto bad = parseManifest(base + R"(, "python_version": "twelve", "python_abi": "cp312"})", "m.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, HasSubstr("field 'python_version' must be"));
}

TEST(PythonEnv, AManifestThatLiesIsRefusedNamingBothVersions) {
  TempDir t;
  fakePrefix(t.path(), "3.12");
  auto m = currentBuildManifest();
  m.pythonVersion = "3.11";
  m.pythonAbi = "cp311";
  writeText(t / kManifestFileName, manifestJson(m));
  auto r = prepareDirectory(t.path());
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message,
              HasSubstr("says Python 3.11 (cp311) but it holds Python 3.12 (cp312, libpython3.12.so.1.0)"));
  m.pythonVersion = "3.12";
  m.pythonAbi = "cp312";
  writeText(t / kManifestFileName, manifestJson(m));
  EXPECT_TRUE(prepareDirectory(t.path()).ok());
}

TEST(PythonEnv, WorkerVariables) {
  TempDir t, cache;
  fakePrefix(t.path(), "3.12");
  touch(t / "lib/python3.12/site-packages/pkg.py");
  touch(t / "bin/python3.12");
  settings::ModelParameters params;
  params.environmentPath = t.path().string();
  auto r = prepareForModel(params, cache.path());
  ASSERT_TRUE(r.ok()) << r.error().message;
  std::map<std::string, std::string> vars;
  for (auto& [k, v] : workerPythonEnvironment(**r, "/usr/bin:/bin")) vars[k] = v;
  EXPECT_EQ(vars["RINGSERVE_PYTHON_PATH"], (t / "lib/python3.12/site-packages").string());
  EXPECT_EQ(vars["RINGSERVE_PYTHON_LIBRARY"], (t / "lib/libpython3.12.so.1.0").string());
  EXPECT_EQ(vars["PYTHONHOME"], t.path().string());
  EXPECT_EQ(vars["PATH"], (t / "bin").string() + ":/usr/bin:/bin");
  EXPECT_EQ(vars["PYTHONPATH"], "");
  EXPECT_EQ(vars["PYTHONPYCACHEPREFIX"], (cache / ".pycache" / folderNameForKey((*r)->key)).string());
  // No Python in the environment: no Python variables.
  TempDir plain;
  touch(plain / "lib/libfoo.so");
  params.environmentPath = plain.path().string();
  auto p = prepareForModel(params, cache.path());
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(workerPythonEnvironment(**p, "/usr/bin").empty());
}

// The README's "environment Python x worker host" table says what pythonCompatibility says.
TEST(PythonEnv, ReadmeTableMatchesTheCode) {
  std::ifstream in(RINGSERVE_README);
  ASSERT_TRUE(in) << RINGSERVE_README;
  std::vector<std::vector<std::string>> rows;
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    if (line.find("<!-- python-compat-table -->") != std::string::npos)
      inside = true;
    else if (line.find("<!-- /python-compat-table -->") != std::string::npos)
      break;
    else if (inside && line.rfind("|", 0) == 0 && line.find("---") == std::string::npos) {
      std::vector<std::string> cells;
      std::stringstream ss(line.substr(1));
      for (std::string c; std::getline(ss, c, '|');) {
        const auto b = c.find_first_not_of(" `*"), e = c.find_last_not_of(" `*");
        cells.push_back(b == std::string::npos ? "" : c.substr(b, e - b + 1));
      }
      rows.push_back(cells);
    }
  }
  ASSERT_GE(rows.size(), 5u) << "python-compat-table not found in README";
  // Columns: "environment Python", "own interpreter (...)", "packages only, worker Python 3.11".
  ASSERT_EQ(rows[0].size(), 3u);
  static const std::regex ver(R"((\d+)\.(\d+))");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(rows[0][2], m, ver)) << rows[0][2];
  const PythonVersion worker{std::stoi(m[1]), std::stoi(m[2])};
  EXPECT_EQ(worker, workerDefaultPython()) << "the table's worker column is this build's worker Python";
  int checked = 0;
  for (std::size_t r = 1; r < rows.size(); ++r) {
    auto v = parsePythonVersion(rows[r][0]);
    ASSERT_TRUE(v) << rows[r][0];
    EXPECT_EQ(rows[r][1], toString(pythonCompatibility(*v, true, worker))) << "own interpreter " << rows[r][0];
    EXPECT_EQ(rows[r][2], toString(pythonCompatibility(*v, false, worker))) << "packages only " << rows[r][0];
    checked += 2;
  }
  EXPECT_GE(checked, 12);
}

// ---------------------------------------------------------------------------------------------
// pack-env --python

class PackPython : public ::testing::Test {
 protected:
  void SetUp() override {
    pythons_ = pyenvPythons();
    if (pythons_.count(12) == 0) GTEST_SKIP() << "no pyenv CPython 3.12 with a shared libpython on this machine";
    prefix_ = pythons_.at(12);
  }
  PackOptions options(const std::string& out = "py.tar") {
    PackOptions o;
    o.python = prefix_;
    o.output = tmp_ / out;
    o.format = TarFormat::none;  // the content is what is tested; gzip would only cost time
    o.resolver.ldLibraryPath.clear();
    return o;
  }
  std::map<int, fs::path> pythons_;
  fs::path prefix_;
  TempDir tmp_;
};

TEST_F(PackPython, PacksATrimmedPythonThatRunsFromTheCache) {
  touch(tmp_ / "site/onlyhere/__init__.py", "WHERE = 'packed'\n");
  auto o = options();
  o.sitePackages = {tmp_ / "site"};
  std::vector<std::string> stages;
  auto r = packEnvironment(o, [&](std::string_view stage, std::uint64_t, std::uint64_t) {
    if (stages.empty() || stages.back() != stage) stages.emplace_back(stage);
  });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(stages.front(), "collecting");
  EXPECT_EQ(stages.back(), "packing");
  ASSERT_TRUE(r->python);
  EXPECT_EQ(r->manifest.pythonVersion, "3.12");
  EXPECT_EQ(r->manifest.pythonAbi, "cp312");
  EXPECT_GT(r->python->leftOut.bytes, 0u);
  EXPECT_GT(r->python->standardLibrary.files, 100u);
  EXPECT_EQ(r->python->sitePackages.files, 1u);

  auto tar = readTar(o.output);
  for (const char* want : {"lib/libpython3.12.so.1.0", "lib/libpython3.12.so", "lib/python3.12/os.py",
                           "lib/python3.12/site-packages/onlyhere/__init__.py", "bin/python3", "ringserve-env.json"})
    EXPECT_EQ(tar.entries.count(want), 1u) << want;
  for (const auto& [name, e] : tar.entries) {
    EXPECT_EQ(name.find("__pycache__"), std::string::npos) << name;
    EXPECT_FALSE(name.starts_with("lib/python3.12/test/")) << name;
    EXPECT_FALSE(name.starts_with("lib/python3.12/idlelib/")) << name;
    EXPECT_FALSE(name.starts_with("lib/python3.12/tkinter/")) << name;
    EXPECT_FALSE(name.starts_with("lib/python3.12/ensurepip/")) << name;
    EXPECT_FALSE(name.starts_with("lib/python3.12/config-")) << name;
  }

  // The tarball is an environment of its own Python, and that Python runs from the cache with
  // nothing of the build prefix (its RUNPATH points there: LD_LIBRARY_PATH comes first).
  TempDir cache;
  auto env = prepareTarball(o.output, cache.path());
  ASSERT_TRUE(env.ok()) << env.error().message;
  ASSERT_TRUE(env->python);
  EXPECT_EQ(env->python->version, k312);
  EXPECT_EQ(env->python->libpython, env->root / "lib/libpython3.12.so.1.0");
  const fs::path root = env->root;
  int status = -1;
  const std::string out = run("env -i LD_LIBRARY_PATH=" + (root / "lib").string() + " PYTHONHOME=" + root.string() +
                                  " " + (root / "bin/python3").string() +
                                  " -c 'import sys, json, asyncio, onlyhere; print(sys.prefix, sys.version_info[:2], "
                                  "onlyhere.WHERE, onlyhere.__file__)' 2>&1",
                              status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_THAT(out, HasSubstr(root.string() + " (3, 12) packed " + root.string() + "/lib/python3.12/site-packages/"));
}

TEST_F(PackPython, MixedAbiTagsAreRefused) {
  touch(tmp_ / "site/fast/_c.cpython-311-x86_64-linux-gnu.so");
  auto o = options();
  o.sitePackages = {tmp_ / "site"};
  envtest::expectPackRefused(o, "mixed ABI tags: ");
  envtest::expectPackRefused(o, "is an extension module for CPython 3.11; the environment is for Python 3.12");
}

TEST_F(PackPython, SitePackagesOfAnotherPythonAreRefused) {
  touch(tmp_ / "other/lib/python3.11/site-packages/x.py");
  auto o = options();
  o.sitePackages = {tmp_ / "other/lib/python3.11/site-packages"};
  envtest::expectPackRefused(o, "site-packages is for Python 3.11; the environment is for Python 3.12");
  o.sitePackages = {tmp_ / "missing"};
  envtest::expectPackRefused(o, "--site-packages " + (tmp_ / "missing").string() + " does not exist");
}

TEST_F(PackPython, VenvWhoseBasePythonIsMissingIsRefused) {
  touch(tmp_ / "venv/lib/python3.12/site-packages/x.py");
  touch(tmp_ / "venv/pyvenv.cfg", "home = /nonexistent/python3.12/bin\n");
  auto o = options();
  o.python = tmp_ / "venv";
  envtest::expectPackRefused(
      o, "is a venv whose base Python (home = /nonexistent/python3.12/bin in pyvenv.cfg) is missing");
  // A real venv of that Python packs its base interpreter and its own packages.
  int status = -1;
  const std::string made =
      run(prefix_.string() + "/bin/python3.12 -m venv --without-pip " + (tmp_ / "real").string() + " 2>&1", status);
  ASSERT_EQ(status, 0) << made;
  touch(tmp_ / "real/lib/python3.12/site-packages/venvpkg.py");
  o.python = tmp_ / "real";
  auto r = packEnvironment(o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto tar = readTar(o.output);
  EXPECT_EQ(tar.entries.count("lib/python3.12/site-packages/venvpkg.py"), 1u);
  EXPECT_EQ(tar.entries.count("lib/libpython3.12.so.1.0"), 1u);
}

TEST_F(PackPython, NoSharedLibpythonIsRefused) {
  touch(tmp_ / "static/lib/python3.12/os.py");
  touch(tmp_ / "static/bin/python3.12");
  auto o = options();
  o.python = tmp_ / "static";
  envtest::expectPackRefused(
      o, "has no shared libpython (lib/libpython3.X.so.1.0): pack-env needs a Python built with --enable-shared");
  o.python = tmp_ / "nowhere";
  envtest::expectPackRefused(o, "does not exist");
}

TEST(PackSitePackages, MlserverLayoutWithoutAnInterpreter) {
  TempDir t;
  touch(t / "src/lib/python3.11/site-packages/onlyhere/__init__.py");
  PackOptions o;
  o.sitePackages = {t / "src/lib/python3.11/site-packages"};
  o.output = t / "pkgs.tar.gz";
  auto r = packEnvironment(o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->manifest.pythonVersion, "3.11");
  auto tar = readTar(o.output);
  EXPECT_EQ(tar.entries.count("lib/python3.11/site-packages/onlyhere/__init__.py"), 1u);
  EXPECT_EQ(tar.entries.count("lib/libpython3.11.so.1.0"), 0u);
}

TEST(PackSitePackages, CommandLinePrintsTheSizeSummary) {
  TempDir t;
  touch(t / "src/lib/python3.11/site-packages/onlyhere/__init__.py", "x = 1\n");
  CLI::App app;
  int exitCode = -1;
  addPackEnvCommand(app, exitCode);
  const std::string site = (t / "src/lib/python3.11/site-packages").string(), out = (t / "e.tar.gz").string();
  std::vector<const char*> args{"ringserve", "pack-env", "--site-packages", site.c_str(), "-o", out.c_str()};
  std::ostringstream err, stdoutText;
  auto* oldErr = std::cerr.rdbuf(err.rdbuf());
  auto* oldOut = std::cout.rdbuf(stdoutText.rdbuf());
  app.parse(static_cast<int>(args.size()), args.data());
  std::cerr.rdbuf(oldErr);
  std::cout.rdbuf(oldOut);
  EXPECT_EQ(exitCode, 0) << err.str();
  EXPECT_THAT(err.str(), HasSubstr("pack-env: Python 3.11 (cp311): site-packages 1 files"));
  EXPECT_THAT(stdoutText.str(), HasSubstr("wrote " + out + ": 1 files, "));
}

}  // namespace
}  // namespace ringserve::supervisor::environments
