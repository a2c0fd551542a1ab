// The generated Dockerfile and .dockerignore against golden files, and the folder scan they are
// rendered from. RINGSERVE_UPDATE_GOLDEN=1 rewrites the golden files (review the diff).
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "schema/version.hpp"
#include "supervisor/image/builder.hpp"
#include "supervisor/image/dockerfile.hpp"

namespace ringserve::supervisor::image {
namespace {
namespace fs = std::filesystem;

const fs::path kFolders = fs::path(IMAGE_TEST_DIR) / "folders";
const fs::path kGolden = fs::path(IMAGE_TEST_DIR) / "golden";

std::string readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Golden files spell the version as @VERSION@ so a version bump does not touch them.
std::string withPlaceholder(std::string text) {
  const std::string version = buildVersion();
  for (std::size_t at; (at = text.find(version)) != std::string::npos;) text.replace(at, version.size(), "@VERSION@");
  return text;
}

void expectGolden(const std::string& name, const std::string& rendered) {
  const fs::path golden = kGolden / name;
  if (const char* update = std::getenv("RINGSERVE_UPDATE_GOLDEN"); update && std::string(update) == "1") {
    std::ofstream(golden, std::ios::binary) << withPlaceholder(rendered);
  }
  ASSERT_TRUE(fs::exists(golden)) << golden;
  EXPECT_EQ(withPlaceholder(rendered), readFile(golden)) << "differs from " << golden;
}

DockerfileOptions options(const std::string& base = "") {
  DockerfileOptions o;
  o.version = buildVersion();
  o.baseImage = base.empty() ? defaultBaseImage(o.version) : base;
  o.stageInstallation = !isRingserveImage(o.baseImage);
  return o;
}

FolderScan scan(const std::string& folder) {
  auto s = scanFolder(kFolders / folder);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
  return s.ok() ? s.value() : FolderScan{};
}

TEST(FolderScan, FindsModelsAndTopLevelCMakeProjectsOnly) {
  const auto s = scan("cpp");
  EXPECT_EQ(s.models, std::vector<std::string>{"models/adder"});
  // runtimes/adder/detail is part of the adder project; build-host is a build tree.
  EXPECT_EQ(s.cmakeProjects, std::vector<std::string>{"runtimes/adder"});
  EXPECT_FALSE(s.requirements);
  EXPECT_FALSE(s.condaEnvironment);
}

TEST(FolderScan, FindsPythonRequirementsAndCondaEnvironment) {
  const auto s = scan("python");
  EXPECT_EQ(s.models, std::vector<std::string>{"iris"});
  EXPECT_EQ(s.requirements, "requirements.txt");
  EXPECT_EQ(s.condaEnvironment, "environment.yaml");
  EXPECT_TRUE(s.cmakeProjects.empty());
}

TEST(FolderScan, FindsTheBuiltinPythonRuntimesTheModelsName) {
  const auto s = scan("builtin-python");
  EXPECT_EQ(s.models, (std::vector<std::string>{"boost", "custom", "iris", "packed"}));
  EXPECT_EQ(s.builtinPythonRuntimes, (std::vector<std::string>{"mlserver_sklearn", "mlserver_xgboost"}));
  EXPECT_EQ(scan("python").builtinPythonRuntimes, std::vector<std::string>{"mlserver_sklearn"});
  EXPECT_TRUE(scan("plain").builtinPythonRuntimes.empty());
  EXPECT_TRUE(scan("cpp").builtinPythonRuntimes.empty());
}

// A model with an environment of its own imports scikit-learn from it, not from the image.
TEST(FolderScan, AModelWithItsOwnEnvironmentNeedsNoLibrariesFromTheImage) {
  const fs::path dir = fs::temp_directory_path() / ("ringserve-scan-env-" + std::to_string(::getpid()));
  for (const char* key : {"environment_tarball", "environment_path"}) {
    fs::remove_all(dir);
    fs::create_directories(dir / "m");
    std::ofstream(dir / "m" / "model-settings.json")
        << R"({"name": "m", "implementation": "mlserver_sklearn.SKLearnModel", "parameters": {")" << key
        << R"(": "./env"}})";
    auto s = scanFolder(dir);
    ASSERT_TRUE(s.ok()) << s.error().message;
    EXPECT_TRUE(s.value().builtinPythonRuntimes.empty()) << key;
  }
  fs::remove_all(dir);
}

TEST(FolderScan, RejectsModelSettingsThatAreNotAJsonObject) {
  const fs::path dir = fs::temp_directory_path() / ("ringserve-scan-ms-" + std::to_string(::getpid()));
  fs::create_directories(dir / "m");
  for (const auto& [text, expected] : std::vector<std::pair<std::string, std::string>>{
           {"{\"name\": ", "not valid JSON"}, {"[]", "must hold a JSON object"},
           {"{\"implementation\": 3}", "implementation must be a string"}}) {
    std::ofstream(dir / "m" / "model-settings.json") << text;
    auto s = scanFolder(dir);
    ASSERT_FALSE(s.ok()) << text;
    EXPECT_NE(s.error().message.find(expected), std::string::npos) << s.error().message;
    EXPECT_NE(s.error().message.find("m/model-settings.json"), std::string::npos) << s.error().message;
  }
  fs::remove_all(dir);
}

TEST(FolderScan, SettingsBecomeEnvironmentVariablesInFileOrder) {
  const auto s = scan("python");
  const std::vector<std::pair<std::string, std::string>> expected{
      {"MLSERVER_SERVER_NAME", "iris \"server\" $HOME"}, {"MLSERVER_PARALLEL_WORKERS", "2"}, {"MLSERVER_DEBUG", "false"},
      {"MLSERVER_METRICS_ENDPOINT", "null"}, {"MLSERVER_EXTENSIONS", "[\"model_repository\"]"}};
  EXPECT_EQ(s.settingsEnv, expected);
}

TEST(FolderScan, RejectsSettingsThatAreNotAJsonObject) {
  const fs::path dir = fs::temp_directory_path() / ("ringserve-scan-" + std::to_string(::getpid()));
  fs::create_directories(dir / "m");
  std::ofstream(dir / "m" / "model-settings.json") << "{}";
  for (const auto& [text, expected] : std::vector<std::pair<std::string, std::string>>{
           {"{\"a\": ", "not valid JSON"}, {"[1]", "must hold a JSON object"}, {"{\"a\": \"x\\ny\"}", "holds a newline"}}) {
    std::ofstream(dir / "settings.json") << text;
    auto s = scanFolder(dir);
    ASSERT_FALSE(s.ok()) << text;
    EXPECT_NE(s.error().message.find(expected), std::string::npos) << s.error().message;
    EXPECT_NE(s.error().message.find("settings.json"), std::string::npos) << s.error().message;
  }
  fs::remove_all(dir);
}

TEST(FolderScan, RejectsAFolderWithoutModels) {
  auto s = scanFolder(kFolders / "empty");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("holds no model-settings.json"), std::string::npos) << s.error().message;
  EXPECT_EQ(s.error().message.find('\n'), std::string::npos);
}

TEST(FolderScan, RejectsSomethingThatIsNotAFolder) {
  auto s = scanFolder(kFolders / "plain" / "settings.json");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("is not a folder"), std::string::npos) << s.error().message;
}

TEST(BaseImage, RingserveImagesAreKnownByTheirRepositoryName) {
  EXPECT_TRUE(isRingserveImage("ringserve:0.1.0"));
  EXPECT_TRUE(isRingserveImage("localhost/ringserve"));
  EXPECT_TRUE(isRingserveImage("registry.example:5000/team/ringserve-gpu:2@sha256:ab"));
  EXPECT_FALSE(isRingserveImage("debian:12-slim"));
  EXPECT_FALSE(isRingserveImage("localhost/debian:12-local"));
  EXPECT_FALSE(isRingserveImage("ringserve.example:5000/debian:12"));  // a registry named ringserve
}

TEST(Dockerfile, PlainFolderOnTheRingserveImage) { expectGolden("plain.Dockerfile", renderDockerfile(scan("plain"), options())); }

TEST(Dockerfile, PlainFolderOnADebianBaseStagesTheInstallation) {
  expectGolden("plain-debian.Dockerfile", renderDockerfile(scan("plain"), options("localhost/debian:12-local")));
}

TEST(Dockerfile, CppRuntimesAreBuiltAgainstTheSdk) { expectGolden("cpp.Dockerfile", renderDockerfile(scan("cpp"), options())); }

TEST(Dockerfile, CppRuntimesOnADebianBase) {
  expectGolden("cpp-debian.Dockerfile", renderDockerfile(scan("cpp"), options("debian:12-slim")));
}

TEST(Dockerfile, PythonRequirementsAndEnvironment) {
  expectGolden("python.Dockerfile", renderDockerfile(scan("python"), options()));
}

// The path the image tests take: a Debian base, the built-in Python runtimes' libraries from apt.
TEST(Dockerfile, BuiltinPythonRuntimesOnADebianBaseGetTheirLibrariesFromDebian) {
  expectGolden("builtin-python-debian.Dockerfile",
               renderDockerfile(scan("builtin-python"), options("localhost/debian:12-local")));
}

TEST(Dockerfile, Dockerignore) { expectGolden("dockerignore", renderDockerignore()); }

TEST(BuildCommand, DockerUsesBuildKitsCliAndPodmanNeverPulls) {
  BuildRequest r{"/ctx", "t:1", true, "host"};
  EXPECT_EQ(buildCommand(Builder::Docker, r),
            (std::vector<std::string>{"docker", "build", "--rm", "--no-cache", "--network", "host", "-t", "t:1", "-f",
                                      "/ctx/Dockerfile", "/ctx"}));
  r.noCache = false;
  r.network.clear();
  EXPECT_EQ(buildCommand(Builder::Podman, r),
            (std::vector<std::string>{"podman", "build", "--format", "docker", "--pull=never", "-t", "t:1", "-f",
                                      "/ctx/Dockerfile", "/ctx"}));
}

}  // namespace
}  // namespace ringserve::supervisor::image
