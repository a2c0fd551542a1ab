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
  EXPECT_EQ(findRuntimeLibrary(impl, "models.R", {(root / "a").string(), (root / "b").string()}), (root / "a" / "models.so").string());
  EXPECT_EQ(findRuntimeLibrary(impl, "models.R", {(root / "b").string(), (root / "a").string()}), (root / "b" / "libmodels.so").string());
  try {
    findRuntimeLibrary({"other", "R"}, "other.R", {(root / "a").string()});
    FAIL() << "expected an error";
  } catch (const WorkerError& e) {
    EXPECT_EQ(e.code(), schema::ErrorCode::NOT_FOUND);
    EXPECT_NE(std::string(e.what()).find((root / "a" / "libother.so").string()), std::string::npos) << e.what();
  }
  fs::remove_all(root);
}

}  // namespace
}  // namespace ringserve::worker
