// `ringserve pack-env`: what goes into the tarball, and every input it must refuse.
#include "clients/pack_env/pack_env.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "clients/pack_env/pack_env_command.hpp"
#include "supervisor/environments/environment.hpp"
#include "supervisor/environments/sha256.hpp"
#include "tests/clients/pack_env/pack_refused.hpp"
#include "tests/supervisor/environments/tar_reader.hpp"
#include "tests/supervisor/environments/temp_dir.hpp"

namespace ringserve::supervisor::environments {
namespace {
using envtest::readTar;
using envtest::readText;
using envtest::TempDir;
using envtest::writeText;
namespace fs = std::filesystem;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class EnvPack : public ::testing::Test {
 protected:
  PackOptions options(std::vector<fs::path> plugins, const std::string& out = "env.tar.gz") {
    PackOptions o;
    o.plugins = std::move(plugins);
    o.output = tmp_ / out;
    o.resolver.ldLibraryPath.clear();  // independent of the caller's environment
    return o;
  }
  TempDir tmp_;
};

TEST_F(EnvPack, PacksThePluginItsNonSystemDependenciesAndTheManifest) {
  std::vector<std::string> stages;
  auto r = packEnvironment(options({ENVTEST_PLUGIN}), [&](std::string_view stage, std::uint64_t, std::uint64_t) {
    if (stages.empty() || stages.back() != stage) stages.emplace_back(stage);
  });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_THAT(stages, ElementsAre("resolving", "checking", "packing"));
  EXPECT_THAT(r->systemLibraries, Contains("libc.so.6"));
  EXPECT_EQ(r->key, "sha256:" + sha256Hex(readText(tmp_ / "env.tar.gz")));

  auto tar = readTar(tmp_ / "env.tar.gz");
  EXPECT_EQ(tar.filter, ARCHIVE_FILTER_GZIP);
  std::vector<std::string> names;
  for (const auto& [name, entry] : tar.entries) names.push_back(name);
  EXPECT_THAT(names, ElementsAre("lib/", "lib/envtest_plugin.so", "lib/libenvtest_dep.so.1", "lib/libenvtest_dep2.so.1",
                                 "ringserve-env.json"));
  EXPECT_EQ(tar.entries["lib/envtest_plugin.so"].content, readText(ENVTEST_PLUGIN));
  // The dependency is stored under its DT_NEEDED name with the real file's bytes.
  EXPECT_EQ(tar.entries["lib/libenvtest_dep.so.1"].content,
            readText(fs::path(ENVTEST_DEP_DIR) / "libenvtest_dep.so.1.2.3"));
  EXPECT_EQ(tar.entries["lib/libenvtest_dep.so.1"].type, unsigned(AE_IFREG));

  auto m = parseManifest(tar.entries["ringserve-env.json"].content, "manifest");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->architecture, hostArchitecture());
  EXPECT_EQ(m->protocol, kProtocolVersion);
  EXPECT_EQ(m->sdkAbi, (SdkAbi{1, 0}));
  EXPECT_FALSE(m->worker.has_value());
  ASSERT_EQ(m->plugins.size(), 1u);
  EXPECT_EQ(m->plugins[0].file, "lib/envtest_plugin.so");
  EXPECT_THAT(m->plugins[0].classes, ElementsAre("EchoA", "EchoB"));
  EXPECT_THAT(m->libraries, ElementsAre("lib/libenvtest_dep.so.1", "lib/libenvtest_dep2.so.1"));
}

TEST_F(EnvPack, ThePackedTarballIsAValidEnvironment) {
  ASSERT_TRUE(packEnvironment(options({ENVTEST_PLUGIN})).ok());
  auto env = prepareTarball(tmp_ / "env.tar.gz", tmp_ / "envs");
  ASSERT_TRUE(env.ok()) << env.error().message;
  EXPECT_TRUE(env->warnings.empty());
  EXPECT_TRUE(fs::exists(env->libDir / "envtest_plugin.so"));
  EXPECT_TRUE(fs::exists(env->libDir / "libenvtest_dep2.so.1"));
}

TEST_F(EnvPack, WorkerAndFormats) {
  auto o = options({ENVTEST_PLUGIN}, "env.tar.zst");
  o.worker = "/bin/true";
  o.workerProtocol = ProtocolVersion{7, 1};
  auto r = packEnvironment(o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto tar = readTar(tmp_ / "env.tar.zst");
  EXPECT_EQ(tar.filter, ARCHIVE_FILTER_ZSTD);
  ASSERT_TRUE(tar.entries.count("bin/ringserve-worker"));
  EXPECT_EQ(tar.entries["bin/ringserve-worker"].mode, 0755u);
  auto m = parseManifest(tar.entries["ringserve-env.json"].content, "manifest");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->worker, "bin/ringserve-worker");
  EXPECT_EQ(m->protocol, (ProtocolVersion{7, 1}));

  auto xz = options({ENVTEST_PLUGIN}, "out.bin");
  xz.format = TarFormat::xz;
  ASSERT_TRUE(packEnvironment(xz).ok());
  EXPECT_EQ(readTar(tmp_ / "out.bin").filter, ARCHIVE_FILTER_XZ);
  ASSERT_TRUE(packEnvironment(options({ENVTEST_PLUGIN}, "plain.tar")).ok());
  EXPECT_EQ(readTar(tmp_ / "plain.tar").filter, ARCHIVE_FILTER_NONE);
}

TEST_F(EnvPack, IncludeLib) {
  auto o = options({ENVTEST_PLUGIN});
  o.includeLibs = {fs::path(ENVTEST_DEP_DIR) / "libenvtest_dep2.so.1.2.3"};
  auto r = packEnvironment(o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto tar = readTar(tmp_ / "env.tar.gz");
  EXPECT_TRUE(tar.entries.count("lib/libenvtest_dep2.so.1.2.3"));
}

TEST_F(EnvPack, RefusesAPluginOfAnotherAbiMajor) {
  envtest::expectPackRefused(options({ENVTEST_PLUGIN_ABI2}),
                             "was built for SDK ABI 2.0; this ringserve's workers load SDK ABI 1.0");
}

TEST_F(EnvPack, RefusesALibraryThatIsNotAPlugin) {
  envtest::expectPackRefused(options({ENVTEST_NOT_PLUGIN}), "is not a ringserve runtime plugin");
}

TEST_F(EnvPack, RefusesAPluginThatCrashesWhileLoading) {
  envtest::expectPackRefused(options({ENVTEST_CRASHING_PLUGIN}), "envtest_crashing_plugin.so");
}

TEST_F(EnvPack, MissingAndNonElfInputs) {
  envtest::expectPackRefused(options({tmp_ / "missing.so"}), "missing.so does not exist");
  writeText(tmp_ / "text.so", "not an ELF file at all");
  envtest::expectPackRefused(options({tmp_ / "text.so"}), "is not an ELF file");
  envtest::expectPackRefused(options({}), "nothing to pack");
}

TEST_F(EnvPack, UnresolvableDependencyNamesItAndWhoNeedsIt) {
  envtest::expectPackRefused(options({ENVTEST_PLUGIN_NORUNPATH}), "libenvtest_dep.so.1 (needed by ");
  // Found through LD_LIBRARY_PATH, as the loader would.
  auto o = options({ENVTEST_PLUGIN_NORUNPATH});
  o.resolver.ldLibraryPath = {ENVTEST_DEP_DIR};
  auto r = packEnvironment(o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(readTar(tmp_ / "env.tar.gz").entries.count("lib/libenvtest_dep.so.1"));
}

TEST_F(EnvPack, TwoFilesForOneNameAreRefused) {
  fs::create_directories(tmp_ / "other");
  fs::copy_file(ENVTEST_NOT_PLUGIN, tmp_ / "other" / "envtest_plugin.so");
  envtest::expectPackRefused(options({ENVTEST_PLUGIN, tmp_ / "other" / "envtest_plugin.so"}), "two different files");
}

TEST_F(EnvPack, CommandLineExitStatusAndOneLineError) {
  auto runCli = [&](std::vector<std::string> argv, std::string& err) {
    CLI::App app;
    int exitCode = -1;
    addPackEnvCommand(app, exitCode);
    std::vector<const char*> args{"ringserve"};
    for (auto& a : argv) args.push_back(a.c_str());
    std::ostringstream captured;
    auto* old = std::cerr.rdbuf(captured.rdbuf());
    app.parse(static_cast<int>(args.size()), args.data());
    std::cerr.rdbuf(old);
    err = captured.str();
    return exitCode;
  };
  std::string err;
  EXPECT_EQ(runCli({"pack-env", ENVTEST_PLUGIN_ABI2, "-o", (tmp_ / "x.tar.gz").string()}, err), 1);
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_THAT(err, HasSubstr("ringserve pack-env: plugin "));
  EXPECT_EQ(runCli({"pack-env", ENVTEST_PLUGIN, "-o", (tmp_ / "x.tar.gz").string(), "--format", "rar"}, err), 1);
  EXPECT_THAT(err, HasSubstr("unknown --format 'rar'"));
  EXPECT_EQ(runCli({"pack-env", ENVTEST_PLUGIN, "-q", "-o", (tmp_ / "x.tar.gz").string()}, err), 0);
  EXPECT_TRUE(fs::exists(tmp_ / "x.tar.gz"));
}

}  // namespace
}  // namespace ringserve::supervisor::environments
