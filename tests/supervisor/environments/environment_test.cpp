// The environment cache: content addressing, reuse across "restarts", concurrent unpackers,
// failures that leave nothing usable behind, and the checks that run before any launch.
#include "supervisor/environments/environment.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <random>

#include "supervisor/environments/sha256.hpp"
#include "tests/supervisor/environments/tar_builder.hpp"
#include "tests/supervisor/environments/temp_dir.hpp"

namespace ringserve::supervisor::environments {
namespace {
using envtest::readText;
using envtest::TarBuilder;
using envtest::TempDir;
using envtest::writeText;
namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string manifestText(const std::string& arch, const std::string& protocol, const std::string& abi) {
  return R"({"format": 1, "architecture": ")" + arch + R"(", "protocol_version": ")" + protocol + R"(", "sdk_abi": ")" +
         abi + R"(", "created_by": "test"})";
}
std::string goodManifest() {
  return manifestText(hostArchitecture(), toString(kProtocolVersion), std::to_string(kSdkAbiMajor) + ".0");
}

// Everything under environments_dir except the bookkeeping folders.
std::vector<std::string> cacheEntries(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    auto name = e.path().filename().string();
    if (name != ".locks" && name != ".digests") out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

class EnvCache : public ::testing::Test {
 protected:
  fs::path tarball(const TarBuilder& b, const std::string& name = "env.tar.gz") {
    b.write(tmp_ / name);
    return tmp_ / name;
  }
  fs::path envs() const { return tmp_ / "envs"; }
  TempDir tmp_;
};

TEST_F(EnvCache, FirstPrepareUnpacksSecondReuses) {
  auto t = tarball(TarBuilder().file("ringserve-env.json", goodManifest()).file("lib/libx.so.1", "12345"));
  auto first = prepareTarball(t, envs());
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_TRUE(first->unpackedNow);
  EXPECT_EQ(first->key, "sha256:" + sha256Hex(readText(t)));
  EXPECT_EQ(first->root, fs::canonical(envs()) / ("sha256-" + sha256Hex(readText(t))));
  EXPECT_EQ(first->libDir, first->root / "lib");
  EXPECT_EQ(readText(first->libDir / "libx.so.1"), "12345");
  EXPECT_TRUE(fs::exists(first->root / kCompleteMarker));
  EXPECT_EQ(first->bytes, 5u + goodManifest().size());
  ASSERT_TRUE(first->manifest.has_value());
  EXPECT_EQ(first->manifest->createdBy, "test");
  EXPECT_FALSE(first->workerExecutable.has_value());
  EXPECT_TRUE(first->warnings.empty());

  // Make a second unpack observable: it would restore the file.
  fs::remove(first->libDir / "libx.so.1");
  auto second = prepareTarball(t, envs());
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_FALSE(second->unpackedNow);
  EXPECT_EQ(second->unpackSeconds, 0.0);
  EXPECT_EQ(second->root, first->root);
  EXPECT_EQ(second->bytes, first->bytes);
  EXPECT_FALSE(fs::exists(second->libDir / "libx.so.1"));
  EXPECT_EQ(cacheEntries(envs()), std::vector<std::string>{first->root.filename().string()});
}

TEST_F(EnvCache, KeyIsTheContentNotThePath) {
  auto a = tarball(TarBuilder().file("lib/a", "same"), "a.tar.gz");
  fs::copy_file(a, tmp_ / "b.tar.gz");
  auto first = prepareTarball(a, envs());
  auto second = prepareTarball(tmp_ / "b.tar.gz", envs());
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->key, second->key);
  EXPECT_FALSE(second->unpackedNow);
}

TEST_F(EnvCache, ChangedTarballGetsANewKey) {
  auto t = tarball(TarBuilder().file("lib/a", "one"));
  auto first = prepareTarball(t, envs());
  ASSERT_TRUE(first.ok());
  tarball(TarBuilder().file("lib/a", "two, longer"));
  auto second = prepareTarball(t, envs());
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_NE(first->key, second->key);
  EXPECT_TRUE(second->unpackedNow);
  EXPECT_EQ(readText(second->libDir / "a"), "two, longer");
}

TEST_F(EnvCache, MissingTarball) {
  auto r = prepareTarball(tmp_ / "missing.tar.gz", envs());
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("missing.tar.gz does not exist"));
}

TEST_F(EnvCache, TarballThatIsAFolder) {
  fs::create_directory(tmp_ / "dir.tar.gz");
  auto r = prepareTarball(tmp_ / "dir.tar.gz", envs());
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("dir.tar.gz is not a regular file"));
}

TEST_F(EnvCache, EnvironmentsDirThatCannotBeCreatedIs500) {
  auto t = tarball(TarBuilder().file("lib/a", "x"));
  writeText(tmp_ / "afile", "");
  auto r = prepareTarball(t, tmp_ / "afile" / "envs");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("cannot create environments_dir"));
}

TEST_F(EnvCache, UnsafeEntryLeavesNothingBehind) {
  // Good files first, so the refusal happens mid-unpack.
  auto t =
      tarball(TarBuilder().file("lib/a", std::string(100000, 'a')).file("lib/b", "b").symlink("lib/x", "/etc/passwd"));
  auto r = prepareTarball(t, envs());
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("entry 'lib/x' refused"));
  EXPECT_TRUE(cacheEntries(envs()).empty());
}

TEST_F(EnvCache, CorruptTarballLeavesNothingBehind) {
  std::string noise(1 << 20, '\0');
  std::mt19937 rng(3);
  for (auto& c : noise) c = static_cast<char>(rng());
  auto t = tarball(TarBuilder().file("lib/a", noise).file("lib/b", noise));
  auto bytes = readText(t);
  writeText(t, bytes.substr(0, bytes.size() * 3 / 4));
  auto r = prepareTarball(t, envs());
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("is corrupt or truncated"));
  EXPECT_TRUE(cacheEntries(envs()).empty());
}

TEST_F(EnvCache, InjectedDiskFullLeavesNothingAndALaterPrepareSucceeds) {
  auto t = tarball(TarBuilder().file("lib/a", std::string(1 << 20, 'a')).file("lib/b", std::string(1 << 20, 'b')));
  Limits failing;
  failing.writeHook = [](std::uint64_t written) { return written < (1 << 20); };
  auto r = prepareTarball(t, envs(), failing);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("entry 'lib/b'"));
  EXPECT_TRUE(cacheEntries(envs()).empty());
  auto again = prepareTarball(t, envs());
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_TRUE(again->unpackedNow);
}

// A real ENOSPC from a 1 MiB tmpfs (needs CAP_SYS_ADMIN; skipped without it).
TEST_F(EnvCache, RealDiskFullOnATinyTmpfs) {
  fs::create_directory(tmp_ / "small");
  if (::mount("tmpfs", (tmp_ / "small").c_str(), "tmpfs", 0, "size=1m") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here: " << std::strerror(errno);
  }
  std::string noise(3 << 20, '\0');
  std::mt19937 rng(5);
  for (auto& c : noise) c = static_cast<char>(rng());
  auto t = tarball(TarBuilder().file("lib/big", noise));
  auto r = prepareTarball(t, tmp_ / "small" / "envs");
  std::vector<std::string> left;
  if (fs::exists(tmp_ / "small" / "envs")) left = cacheEntries(tmp_ / "small" / "envs");
  ::umount2((tmp_ / "small").c_str(), MNT_DETACH);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("lib/big"));
  EXPECT_TRUE(left.empty());
}

TEST_F(EnvCache, LeftoversOfADeadUnpackerAreReplaced) {
  auto t = tarball(TarBuilder().file("lib/a", "fresh"));
  const std::string hex = sha256Hex(readText(t));
  fs::create_directories(envs() / (".unpack-" + hex + "-999999") / "lib");
  // A folder at the final name without the completion marker is not trusted.
  fs::create_directories(envs() / ("sha256-" + hex) / "lib");
  writeText(envs() / ("sha256-" + hex) / "lib" / "a", "half");
  auto r = prepareTarball(t, envs());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->unpackedNow);
  EXPECT_EQ(readText(r->libDir / "a"), "fresh");
  EXPECT_EQ(cacheEntries(envs()), std::vector<std::string>{"sha256-" + hex});
}

TEST_F(EnvCache, TwoProcessesPreparingAtOnceUnpackOnce) {
  // Large enough that the two overlap; correctness does not depend on it.
  std::string noise(8 << 20, '\0');
  std::mt19937 rng(9);
  for (auto& c : noise) c = static_cast<char>(rng());
  auto t = tarball(TarBuilder().file("ringserve-env.json", goodManifest()).file("lib/big", noise));
  int go[2];
  ASSERT_EQ(::pipe(go), 0);
  pid_t children[2];
  for (auto& child : children) {
    child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      char c;
      (void)!::read(go[0], &c, 1);  // start together
      auto r = prepareTarball(t, envs());
      ::_exit(!r.ok() ? 1 : r->unpackedNow ? 10 : 11);
    }
  }
  (void)!::write(go[1], "xx", 2);
  int codes[2];
  for (int i = 0; i < 2; ++i) {
    int status = 0;
    ASSERT_EQ(::waitpid(children[i], &status, 0), children[i]);
    ASSERT_TRUE(WIFEXITED(status));
    codes[i] = WEXITSTATUS(status);
  }
  ::close(go[0]);
  ::close(go[1]);
  std::sort(codes, codes + 2);
  EXPECT_EQ(codes[0], 10) << "exactly one unpacked";
  EXPECT_EQ(codes[1], 11) << "the other reused it";
  EXPECT_EQ(cacheEntries(envs()).size(), 1u);
}

TEST_F(EnvCache, WrongArchitectureIsRefusedNamingBoth) {
  auto t = tarball(TarBuilder().file("ringserve-env.json", manifestText("riscv64", "1.0", "1.0")));
  auto r = prepareTarball(t, envs());
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("environment sha256:"));
  EXPECT_THAT(r.error().message,
              HasSubstr("built for architecture riscv64; this server runs on " + hostArchitecture()));
}

TEST_F(EnvCache, WorkerOfAnotherProtocolMajorIsRefused) {
  const std::string other = std::to_string(kProtocolMajor + 1) + ".0";
  auto t = tarball(TarBuilder()
                       .file("ringserve-env.json", manifestText(hostArchitecture(), other, "1.0"))
                       .file("bin/ringserve-worker", "#!/bin/sh\n", 0755));
  auto r = prepareTarball(t, envs());
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("runs a worker speaking protocol " + other + "; this server speaks " +
                                           supportedProtocolRange()));
}

TEST_F(EnvCache, ProtocolOfAnEnvironmentWithoutWorkerIsNotAConcern) {
  const std::string other = std::to_string(kProtocolMajor + 1) + ".0";
  auto t = tarball(TarBuilder().file("ringserve-env.json", manifestText(hostArchitecture(), other, "1.0")));
  auto r = prepareTarball(t, envs());
  EXPECT_TRUE(r.ok()) << r.error().message;
}

TEST_F(EnvCache, NewerProtocolMinorIsAWarning) {
  const std::string newer = std::to_string(kProtocolMajor) + "." + std::to_string(kProtocolMinor + 1);
  auto t = tarball(TarBuilder()
                       .file("ringserve-env.json", manifestText(hostArchitecture(), newer, "1.0"))
                       .file("bin/ringserve-worker", "#!/bin/sh\n", 0755));
  auto r = prepareTarball(t, envs());
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_THAT(r->warnings[0], HasSubstr("untested"));
  EXPECT_EQ(r->workerExecutable, r->root / "bin/ringserve-worker");
}

TEST_F(EnvCache, PluginsOfAnotherSdkAbiMajorAreRefused) {
  const std::string abi = std::to_string(kSdkAbiMajor + 1) + ".0";
  auto t = tarball(TarBuilder().file("ringserve-env.json", manifestText(hostArchitecture(), "1.0", abi)));
  auto r = prepareTarball(t, envs());
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("built for SDK ABI " + abi));
}

TEST_F(EnvCache, MalformedManifest) {
  auto t = tarball(TarBuilder().file("ringserve-env.json", "{\"format\": 1, \"architecture\": 5}"));
  auto r = prepareTarball(t, envs());
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("ringserve-env.json"));
  EXPECT_THAT(r.error().message, HasSubstr("'architecture'"));
}

TEST_F(EnvCache, NoManifestIsAWarning) {
  auto t = tarball(TarBuilder().file("lib/a", "x"));
  auto r = prepareTarball(t, envs());
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->manifest.has_value());
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_THAT(r->warnings[0], HasSubstr("has no ringserve-env.json"));
}

TEST_F(EnvCache, WorkerThatIsNotExecutable) {
  auto t = tarball(TarBuilder()
                       .file("ringserve-env.json", goodManifest())
                       .file("bin/ringserve-worker",
                             "\x7f"
                             "ELF",
                             0644));
  auto r = prepareTarball(t, envs());
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("bin/ringserve-worker is not executable"));
}

TEST_F(EnvCache, WorkerBuiltForAnotherMachine) {
  auto elf = readText("/bin/true");
  ASSERT_GT(elf.size(), 20u);
  elf[18] = static_cast<char>(183);  // e_machine = EM_AARCH64 (little endian)
  elf[19] = 0;
  auto t = tarball(TarBuilder().file("ringserve-env.json", goodManifest()).file("bin/ringserve-worker", elf, 0755));
  auto r = prepareTarball(t, envs());
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("bin/ringserve-worker is built for aarch64"));
}

TEST_F(EnvCache, ADirectoryEnvironment) {
  fs::create_directories(tmp_ / "myenv" / "lib");
  writeText(tmp_ / "myenv" / "lib" / "libq.so", "abc");
  writeText(tmp_ / "myenv" / "ringserve-env.json", goodManifest());
  auto r = prepareDirectory(tmp_ / "myenv" / "lib" / "..");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->key, "path:" + sha256Hex((tmp_ / "myenv").string()));
  EXPECT_EQ(r->root, tmp_ / "myenv");
  EXPECT_FALSE(r->unpackedNow);
  EXPECT_EQ(r->bytes, 3u + goodManifest().size());

  auto missing = prepareDirectory(tmp_ / "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.error().message, HasSubstr("nope does not exist"));
  auto file = prepareDirectory(tmp_ / "myenv" / "lib" / "libq.so");
  ASSERT_FALSE(file.ok());
  EXPECT_THAT(file.error().message, HasSubstr("libq.so is not a folder"));
}

TEST_F(EnvCache, ModelParametersPickTheEnvironment) {
  fs::create_directories(tmp_ / "dirEnv");
  auto t = tarball(TarBuilder().file("lib/a", "x"));
  settings::ModelParameters p;
  auto none = prepareForModel(p, envs());
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  p.environmentTarball = t;
  auto fromTarball = prepareForModel(p, envs());
  ASSERT_TRUE(fromTarball.ok() && fromTarball->has_value());
  EXPECT_TRUE((*fromTarball)->key.starts_with("sha256:"));
  p.environmentPath = tmp_ / "dirEnv";  // wins over the tarball, as in MLServer
  auto fromPath = prepareForModel(p, envs());
  ASSERT_TRUE(fromPath.ok() && fromPath->has_value());
  EXPECT_TRUE((*fromPath)->key.starts_with("path:"));
}

TEST(EnvPoolKey, CombinesEnvironmentAndGid) {
  PreparedEnvironment env;
  env.key = "sha256:abc";
  EXPECT_EQ(poolKey(std::nullopt, std::nullopt), "default");
  EXPECT_EQ(poolKey(env, std::nullopt), "sha256:abc");
  EXPECT_EQ(poolKey(std::nullopt, std::string("gpu")), "gpu");
  EXPECT_EQ(poolKey(env, std::string("gpu")), "sha256:abc-gpu");
}

TEST(EnvPoolKey, GidFromSettings) {
  settings::ModelParameters p;
  EXPECT_FALSE(poolGid(p).has_value());
  p.autogenerateInferencePoolGid = true;
  auto a = poolGid(p), b = poolGid(p);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->size(), 36u);
  EXPECT_EQ((*a)[14], '4');
  EXPECT_NE(*a, *b);
  p.inferencePoolGid = "mine";
  EXPECT_EQ(poolGid(p), "mine");
  EXPECT_EQ(folderNameForKey("sha256:ab"), "sha256-ab");
}

TEST(EnvPoolKey, WorkerLibraryPathPutsTheEnvironmentFirst) {
  PreparedEnvironment env;
  env.libDir = "/envs/sha256-ab/lib";
  EXPECT_EQ(workerLibraryPath(env, nullptr), "/envs/sha256-ab/lib");
  EXPECT_EQ(workerLibraryPath(env, ""), "/envs/sha256-ab/lib");
  EXPECT_EQ(workerLibraryPath(env, "/opt/x"), "/envs/sha256-ab/lib:/opt/x");
}

}  // namespace
}  // namespace ringserve::supervisor::environments
