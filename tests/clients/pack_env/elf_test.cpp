// The ELF reader and the loader-like dependency resolution pack-env relies on.
#include "supervisor/environments/elf_file.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "clients/pack_env/library_resolver.hpp"
#include "tests/supervisor/environments/temp_dir.hpp"

namespace ringserve::supervisor::environments {
namespace {
using envtest::readText;
using envtest::TempDir;
using envtest::writeText;
using ::testing::Contains;
using ::testing::HasSubstr;

TEST(EnvElf, ReadsTheDynamicSection) {
  auto elf = readElf(ENVTEST_PLUGIN);
  ASSERT_TRUE(elf.ok()) << elf.error().message;
  EXPECT_EQ(elf->machine, hostElfMachine());
  EXPECT_THAT(elf->needed, Contains("libenvtest_dep.so.1"));
  EXPECT_FALSE(elf->runpath.empty() && elf->rpath.empty()) << "CMake's build tree RUNPATH/RPATH";
  auto dep = readElf(std::string(ENVTEST_DEP_DIR) + "/libenvtest_dep.so.1");
  ASSERT_TRUE(dep.ok());
  EXPECT_EQ(dep->soname, "libenvtest_dep.so.1");
}

TEST(EnvElf, EveryTruncationIsAnErrorNotACrash) {
  const std::string bytes = readText(ENVTEST_PLUGIN);
  TempDir tmp;
  int errors = 0;
  for (std::size_t n = 0; n < bytes.size(); n += 97) {
    writeText(tmp / "cut.so", bytes.substr(0, n));
    auto r = readElf(tmp / "cut.so");
    if (!r.ok()) {
      ++errors;
      EXPECT_THAT(r.error().message, ::testing::HasSubstr("cut.so"));
    }
  }
  EXPECT_GT(errors, 0);
}

TEST(EnvElf, NotElf) {
  TempDir tmp;
  writeText(tmp / "x", "#!/bin/sh\n");
  auto r = readElf(tmp / "x");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("is not an ELF file"));
}

TEST(EnvLibraryResolver, SystemAndBuildTreeLibraries) {
  ResolverOptions o;
  auto deps = resolveDependencies({ENVTEST_PLUGIN}, o);
  ASSERT_TRUE(deps.ok()) << deps.error().message;
  std::vector<std::string> order;
  for (const auto& d : *deps) {
    order.push_back(d.name);
    if (d.name == "libc.so.6") {
      EXPECT_TRUE(d.system);
    }
    if (d.name.starts_with("libenvtest")) {
      EXPECT_FALSE(d.system) << d.path;
    }
  }
  // Dependencies come before what needs them (the order they are preloaded in).
  auto pos = [&](const std::string& n) { return std::find(order.begin(), order.end(), n) - order.begin(); };
  EXPECT_LT(pos("libenvtest_dep2.so.1"), pos("libenvtest_dep.so.1"));
}

TEST(EnvLibraryResolver, ReadsTheLdCache) {
  if (!std::filesystem::exists("/etc/ld.so.cache")) GTEST_SKIP() << "no /etc/ld.so.cache";
  auto entries = readLdCache("/etc/ld.so.cache");
  bool libc = false;
  for (const auto& [name, path] : entries) {
    if (name == "libc.so.6") libc = libc || std::filesystem::exists(path);
  }
  EXPECT_TRUE(libc);
  EXPECT_TRUE(readLdCache("/nonexistent").empty());
}

}  // namespace
}  // namespace ringserve::supervisor::environments
