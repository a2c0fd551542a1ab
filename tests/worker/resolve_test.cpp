#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "worker/error.hpp"
#include "worker/resolve.hpp"

namespace ringserve::worker {
namespace {

TEST(Resolve, SplitsAtTheLastDot) {
  const auto i = splitImplementation("models.sub.MyRuntime");
  EXPECT_EQ(i.module, "models.sub");
  EXPECT_EQ(i.className, "MyRuntime");
  for (const char* bad : {"NoDot", ".Class", "module.", ""}) EXPECT_THROW(splitImplementation(bad), WorkerError) << bad;
}

TEST(Resolve, SearchesFoldersInOrderAndBothFileNames) {
  namespace fs = std::filesystem;
  const fs::path root = fs::path(::testing::TempDir()) / ("resolve-" + std::to_string(::getpid()));
  fs::create_directories(root / "a");
  fs::create_directories(root / "b");
  std::ofstream(root / "b" / "libmodels.so") << "x";
  std::ofstream(root / "a" / "models.so") << "x";
  const Implementation impl{"models", "R"};
  EXPECT_EQ(resolveRuntime(impl, "models.R", {(root / "a").string(), (root / "b").string()}, {}).library, (root / "a" / "models.so").string());
  EXPECT_EQ(resolveRuntime(impl, "models.R", {(root / "b").string(), (root / "a").string()}, {}).library, (root / "b" / "libmodels.so").string());
  try {
    resolveRuntime({"other", "R"}, "other.R", {(root / "a").string()}, {});
    FAIL() << "expected an error";
  } catch (const WorkerError& e) {
    EXPECT_EQ(e.code(), schema::ErrorCode::NOT_FOUND);
    EXPECT_NE(std::string(e.what()).find((root / "a" / "libother.so").string()), std::string::npos) << e.what();
  }
  fs::remove_all(root);
}

// issue 11 item 2: model folder .so, model folder .py, environment lib/ .so, environment Python
// path, built-in runtimes, built-in Python packages; a miss lists all of them.
TEST(Resolve, PythonModulesComeAfterLibrariesOfTheSameFolderInSearchOrder) {
  namespace fs = std::filesystem;
  const fs::path root = fs::path(::testing::TempDir()) / ("resolve-py-" + std::to_string(::getpid()));
  for (const char* d : {"model", "envlib", "envpy", "lib/ringserve/runtimes", "lib/ringserve/python/pkg"})
    fs::create_directories(root / d);
  const std::string model = (root / "model").string(), envlib = (root / "envlib").string(),
                    envpy = (root / "envpy").string(), rt = (root / "lib/ringserve/runtimes").string();
  const std::string host = rt + "/libringserve_python.so";
  std::ofstream(host) << "x";
  const std::vector<std::string> path{model, envlib, rt};
  auto resolve = [&](const std::string& module) { return resolveRuntime({module, "C"}, module + ".C", path, {envpy}); };

  std::ofstream(root / "lib/ringserve/python/pkg/__init__.py") << "";
  EXPECT_EQ(resolve("pkg").pythonFile, (root / "lib/ringserve/python/pkg/__init__.py").string());
  EXPECT_EQ(resolve("pkg").library, host);
  std::ofstream(root / "lib/ringserve/runtimes/pkg.so") << "x";
  EXPECT_EQ(resolve("pkg").library, rt + "/pkg.so");
  EXPECT_TRUE(resolve("pkg").pythonFile.empty());
  std::ofstream(root / "envpy/pkg.py") << "";
  EXPECT_EQ(resolve("pkg").pythonFile, envpy + "/pkg.py");
  std::ofstream(root / "envlib/libpkg.so") << "x";
  EXPECT_EQ(resolve("pkg").library, envlib + "/libpkg.so");
  fs::create_directories(root / "model/pkg");
  std::ofstream(root / "model/pkg/__init__.py") << "";
  EXPECT_EQ(resolve("pkg").pythonFile, model + "/pkg/__init__.py");
  std::ofstream(root / "model/pkg.so") << "x";
  EXPECT_EQ(resolve("pkg").library, model + "/pkg.so");

  fs::create_directories(root / "model/a");
  std::ofstream(root / "model/a/b.py") << "";
  EXPECT_EQ(resolve("a.b").pythonFile, model + "/a/b.py");

  try {
    resolve("missing");
    FAIL() << "expected an error";
  } catch (const WorkerError& e) {
    const std::string what = e.what();
    EXPECT_EQ(e.code(), schema::ErrorCode::NOT_FOUND);
    std::size_t at = 0;
    for (const std::string& p : {model + "/missing.so", model + "/libmissing.so", model + "/missing.py",
                                 model + "/missing/__init__.py", envlib + "/missing.so", envpy + "/missing.py",
                                 envpy + "/missing/__init__.py", rt + "/libmissing.so",
                                 (root / "lib/ringserve/python/missing.py").string(),
                                 (root / "lib/ringserve/python/missing/__init__.py").string()}) {
      const auto pos = what.find(p, at);
      EXPECT_NE(pos, std::string::npos) << p << " (in order) in " << what;
      if (pos != std::string::npos) at = pos;
    }
  }

  fs::remove(host);
  try {
    resolve("a.b");
    FAIL() << "expected an error";
  } catch (const WorkerError& e) {
    EXPECT_NE(std::string(e.what()).find("Python host " + host + " is not installed"), std::string::npos) << e.what();
  }
  fs::remove_all(root);
}

}  // namespace
}  // namespace ringserve::worker
