#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <fstream>

#include "supervisor/settings/repository.hpp"
#include "supervisor/settings/server_settings.hpp"

namespace ringserve::supervisor::settings {
namespace {
namespace fs = std::filesystem;

// A scratch model repository, removed afterwards.
class Repo {
 public:
  Repo() {
    char tmpl[] = "/tmp/ringserve-settings-test-XXXXXX";
    root_ = fs::path(::mkdtemp(tmpl));
  }
  ~Repo() { fs::remove_all(root_); }
  Repo(const Repo&) = delete;
  Repo& operator=(const Repo&) = delete;
  const fs::path& root() const { return root_; }
  fs::path write(const fs::path& relative, std::string_view text) const {
    const fs::path p = root_ / relative;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p;
  }

 private:
  fs::path root_;
};

bool contains(const Warnings& w, std::string_view fragment) {
  for (const auto& s : w) {
    if (s.find(fragment) != std::string::npos) return true;
  }
  return false;
}

TEST(ServerSettings, DefaultsWithoutAFile) {
  Repo repo;
  Warnings w;
  auto s = loadServerSettings(repo.root(), {}, w);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_FALSE(s->debug);
  EXPECT_EQ(s->host, "0.0.0.0");
  EXPECT_EQ(s->httpPort, 8080);
  EXPECT_EQ(s->grpcPort, 8081);
  EXPECT_EQ(s->metricsPort, 8082);
  EXPECT_EQ(s->parallelWorkers, 1);
  EXPECT_EQ(s->parallelWorkersTimeout, 5.0);
  EXPECT_EQ(s->modelRepositoryRoot, repo.root());
  EXPECT_EQ(s->environmentsDir, repo.root() / ".envs");
  EXPECT_TRUE(s->loadModelsAtStartup);
  EXPECT_EQ(s->serverName, "ringserve");
  EXPECT_FALSE(s->serverVersion.empty());
  EXPECT_EQ(s->extensions, supportedExtensions());
  EXPECT_EQ(s->metricsEndpoint, "/metrics");
  EXPECT_EQ(s->grpcMaxMessageLength, 64u << 20);
  EXPECT_TRUE(s->gzipEnabled);
  EXPECT_EQ(s->maxRequestSize, 64u << 20);
  EXPECT_EQ(s->shmSize, 256u << 20);
  EXPECT_FALSE(s->requestTimeout.has_value());
  EXPECT_EQ(s->maxHeaderSize, 16u << 10);
  EXPECT_EQ(s->headerTimeout, 30.0);
  EXPECT_EQ(s->idleTimeout, 5.0);
  EXPECT_EQ(s->maxConnections, 0u);
  EXPECT_EQ(s->maxInflightBodyBytes, 1ull << 30);
  EXPECT_GE(s->httpThreads, 1u);
  EXPECT_EQ(s->controlSocket,
            fs::path("/tmp") / ("ringserve-" + std::to_string(::getuid())) / ("ringserve-" + std::to_string(::getpid()) + ".sock"));
  EXPECT_TRUE(w.empty());
  // toJson() is valid JSON.
  simdjson::dom::parser p;
  EXPECT_FALSE(p.parse(s->toJson()).error());
}

TEST(ServerSettings, ConnectionLimitsFromFileAndEnvironment) {
  Repo repo;
  repo.write("settings.json", R"({"max_header_size": 4096, "header_timeout": 2.5, "max_connections": 10})");
  const EnvMap env = {{"RINGSERVE_IDLE_TIMEOUT", "0"}, {"MLSERVER_MAX_INFLIGHT_BODY_BYTES", "1048576"}};
  Warnings w;
  auto s = loadServerSettings(repo.root(), env, w);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->maxHeaderSize, 4096u);
  EXPECT_EQ(s->headerTimeout, 2.5);
  EXPECT_EQ(s->idleTimeout, 0.0);
  EXPECT_EQ(s->maxConnections, 10u);
  EXPECT_EQ(s->maxInflightBodyBytes, 1u << 20);
  EXPECT_TRUE(w.empty());
  for (const char* bad : {R"({"max_header_size": 10})", R"({"header_timeout": -1})", R"({"max_connections": "x"})",
                          R"({"max_inflight_body_bytes": 0})"}) {
    Repo r2;
    r2.write("settings.json", bad);
    Warnings w2;
    auto e = loadServerSettings(r2.root(), {}, w2);
    ASSERT_FALSE(e.ok()) << bad;
  }
}

TEST(ServerSettings, ControlSocketUnderXdgRuntimeDir) {
  EXPECT_EQ(defaultControlSocketDir({{"XDG_RUNTIME_DIR", "/run/user/7"}}), fs::path("/run/user/7/ringserve"));
  EXPECT_EQ(defaultControlSocketDir({}), fs::path("/tmp/ringserve-" + std::to_string(::getuid())));
}

TEST(ServerSettings, PrecedenceIsFileThenEnvThenDefault) {
  Repo repo;
  repo.write("settings.json", R"({"http_port": 9000, "debug": true, "server_name": "from-file"})");
  const EnvMap env = {
      {"RINGSERVE_HTTP_PORT", "9100"},      // loses to the file
      {"MLSERVER_GRPC_PORT", "9101"},       // MLServer spelling applies
      {"RINGSERVE_METRICS_PORT", "9102"},   // RINGSERVE_ wins over MLSERVER_
      {"MLSERVER_METRICS_PORT", "9103"},
      {"MLSERVER_SERVER_NAME", "from-env"}, // loses to the file
      {"RINGSERVE_GZIP_ENABLED", "off"},
      {"RINGSERVE_SHM_SIZE", "1073741824"},
      {"RINGSERVE_REQUEST_TIMEOUT", "2.5"},
      {"MLSERVER_EXTENSIONS", R"(["a","b"])"},
      {"RINGSERVE_METRICS_ENDPOINT", "null"},
      {"RINGSERVE_WERROR", "ON"},           // not a settings field: ignored silently
  };
  Warnings w;
  auto s = loadServerSettings(repo.root(), env, w);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->httpPort, 9000);
  EXPECT_TRUE(s->debug);
  EXPECT_EQ(s->serverName, "from-file");
  EXPECT_EQ(s->grpcPort, 9101);
  EXPECT_EQ(s->metricsPort, 9102);
  EXPECT_FALSE(s->gzipEnabled);
  EXPECT_EQ(s->shmSize, 1u << 30);
  EXPECT_EQ(s->requestTimeout, 2.5);
  EXPECT_EQ(s->extensions, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(s->metricsEndpoint.has_value());
  EXPECT_TRUE(w.empty());
}

TEST(ServerSettings, StartDirOverridesRepositoryRootAndNullDisablesMetrics) {
  Repo repo;
  repo.write("settings.json", R"({"model_repository_root": "/elsewhere", "metrics_endpoint": null,
                                  "environments_dir": "/var/envs", "control_socket": "/tmp/x.sock"})");
  Warnings w;
  auto s = loadServerSettings(repo.root(), {}, w);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->modelRepositoryRoot, repo.root());
  EXPECT_FALSE(s->metricsEndpoint.has_value());
  EXPECT_EQ(s->environmentsDir, fs::path("/var/envs"));
  EXPECT_EQ(s->controlSocket, fs::path("/tmp/x.sock"));
}

TEST(ServerSettings, UnknownFieldsWarn) {
  Warnings w;
  auto s = parseServerSettings(R"({"http_port": 1, "kafka_enabled": true, "cors_settings": {}})", "settings.json",
                               "/repo", {}, w);
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(w.size(), 2u);
  EXPECT_TRUE(contains(w, "settings.json: unknown field 'kafka_enabled' ignored"));
  EXPECT_TRUE(contains(w, "unknown field 'cors_settings'"));
}

TEST(ServerSettings, BadValuesNameTheFieldOrVariable) {
  Warnings w;
  auto expectError = [&](std::string_view json, const EnvMap& env, std::string_view fragment) {
    auto s = parseServerSettings(json, "settings.json", "/repo", env, w);
    ASSERT_FALSE(s.ok()) << json;
    EXPECT_NE(s.error().message.find(fragment), std::string::npos) << s.error().message;
  };
  expectError("{", {}, "settings.json: invalid JSON");
  expectError("[]", {}, "settings.json: must hold a JSON object");
  expectError(R"({"http_port": "x"})", {}, "settings.json: field 'http_port' must be an integer between 0 and 65535, got \"x\"");
  expectError(R"({"http_port": 70000})", {}, "between 0 and 65535, got 70000");
  expectError(R"({"debug": 3})", {}, "field 'debug' must be a boolean");
  expectError(R"({"parallel_workers": 0})", {}, "field 'parallel_workers' must be an integer between 1");
  expectError("", {{"RINGSERVE_HTTP_PORT", "eighty"}}, "environment variable RINGSERVE_HTTP_PORT must be an integer");
  expectError("", {{"MLSERVER_DEBUG", "maybe"}}, "environment variable MLSERVER_DEBUG must be a boolean");
  expectError("", {{"RINGSERVE_EXTENSIONS", "[1"}}, "environment variable RINGSERVE_EXTENSIONS must hold JSON");
  expectError(R"({"request_timeout": -1})", {}, "field 'request_timeout' must be null or a number >= 0");
  expectError(R"({"shm_size": 1000})", {}, "field 'shm_size' must be an integer between 1048576");
  // Lenient like pydantic: numbers and booleans written as strings.
  auto s = parseServerSettings(R"({"http_port": "8000", "debug": "true"})", "settings.json", "/repo", {}, w);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->httpPort, 8000);
  EXPECT_TRUE(s->debug);
}

TEST(ModelSettings, FieldsAndPathResolution) {
  Repo repo;
  const auto file = repo.write("models/iris/model-settings.json", R"({
    "implementation": "runtimes.Echo",
    "platform": "sklearn",
    "versions": ["sklearn/1.3"],
    "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 4], "parameters": {"content_type": "np"}}],
    "outputs": [{"name": "y", "datatype": "INT64", "shape": [-1]}],
    "max_batch_size": 16, "max_batch_time": 0.25, "parallel_workers": 2,
    "parameters": {"uri": "./model.bin", "version": "3", "environment_tarball": "../env.tar.gz",
                   "environment_path": "/opt/env", "format": "joblib", "extra": {"k": [1, 2]}, "custom": true}
  })");
  Warnings w;
  auto m = loadModelSettings(file, {}, w);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->name, "iris");  // the folder's name
  EXPECT_EQ(m->implementation, "runtimes.Echo");
  EXPECT_EQ(m->platform, "sklearn");
  EXPECT_EQ(m->versions, (std::vector<std::string>{"sklearn/1.3"}));
  ASSERT_EQ(m->inputs.size(), 1u);
  EXPECT_EQ(m->inputs[0].name, "x");
  EXPECT_EQ(m->inputs[0].datatype, "FP32");
  EXPECT_EQ(m->inputs[0].shape, (std::vector<std::int64_t>{-1, 4}));
  EXPECT_EQ(m->inputs[0].contentType, "np");
  EXPECT_EQ(m->outputs.at(0).name, "y");
  EXPECT_EQ(m->maxBatchSize, 16);
  EXPECT_EQ(m->maxBatchTime, 0.25);
  EXPECT_EQ(m->parallelWorkers, 2);
  EXPECT_EQ(m->parameters.uri, repo.root() / "models/iris/model.bin");
  EXPECT_EQ(m->parameters.version, "3");
  EXPECT_EQ(m->parameters.environmentTarball, repo.root() / "models/env.tar.gz");
  EXPECT_EQ(m->parameters.environmentPath, fs::path("/opt/env"));
  EXPECT_EQ(m->parameters.format, "joblib");
  EXPECT_EQ(m->parameters.extraJson, R"({"k":[1,2]})");
  EXPECT_EQ(m->folder, repo.root() / "models/iris");
  EXPECT_EQ(m->settingsFile, file);
  EXPECT_EQ(m->displayName(), "iris (version 3)");
  EXPECT_TRUE(w.empty());

  // The effective JSON carries the resolved values and the extra `parameters` members.
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  ASSERT_FALSE(p.parse(m->effectiveJson).get(doc)) << m->effectiveJson;
  EXPECT_EQ(std::string_view(doc["name"].get_string().value()), "iris");
  EXPECT_EQ(std::string_view(doc["parameters"]["uri"].get_string().value()), (repo.root() / "models/iris/model.bin").string());
  EXPECT_TRUE(doc["parameters"]["custom"].get_bool().value());
  EXPECT_EQ(doc["parameters"]["extra"]["k"].at(1).get_int64().value(), 2);
  EXPECT_EQ(doc["inputs"].at(0)["shape"].at(0).get_int64().value(), -1);
  EXPECT_EQ(doc["max_batch_size"].get_int64().value(), 16);
  EXPECT_EQ(doc["max_batch_time"].get_double().value(), 0.25);
}

TEST(ModelSettings, TheEffectiveJsonKeepsATinyMaxBatchTime) {
  Repo repo;
  const auto file = repo.write("m/model-settings.json",
                               R"({"implementation": "m.C", "max_batch_size": 4, "max_batch_time": 1e-7})");
  Warnings w;
  auto m = loadModelSettings(file, {}, w);
  ASSERT_TRUE(m.ok()) << m.error().message;
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  ASSERT_FALSE(p.parse(m->effectiveJson).get(doc)) << m->effectiveJson;
  EXPECT_EQ(doc["max_batch_time"].get_double().value(), 1e-7) << "not rounded to 0: batching stays on for the worker";
}

TEST(ModelSettings, UriDefaultsToTheModelFolder) {
  Repo repo;
  const auto file = repo.write("a/b/model-settings.json", R"({"name": "named", "implementation": "m.C"})");
  Warnings w;
  auto m = loadModelSettings(file, {}, w);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->name, "named");
  EXPECT_EQ(m->parameters.uri, repo.root() / "a/b");
  EXPECT_FALSE(m->parameters.version.has_value());
  EXPECT_EQ(m->displayName(), "named");
}

TEST(ModelSettings, EnvOverridesWithBareParameterNames) {
  Repo repo;
  const auto file = repo.write("m1/model-settings.json", R"({"implementation": "file.Impl", "parameters": {"version": "1"}})");
  const EnvMap env = {
      {"RINGSERVE_MODEL_IMPLEMENTATION", "env.Impl"},   // loses to the file
      {"MLSERVER_MODEL_MAX_BATCH_SIZE", "8"},
      {"RINGSERVE_MODEL_URI", "weights"},               // parameters.uri, relative to the model folder
      {"RINGSERVE_MODEL_VERSION", "9"},                 // loses to the file's parameters.version
      {"MLSERVER_MODEL_INFERENCE_POOL_GID", "gpu"},
      {"RINGSERVE_MODEL_INPUTS", R"([{"name":"t","datatype":"BYTES","shape":[1]}])"},
      {"RINGSERVE_MODEL_EXTRA", R"({"a":1})"},
  };
  Warnings w;
  auto m = loadModelSettings(file, env, w);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->implementation, "file.Impl");
  EXPECT_EQ(m->maxBatchSize, 8);
  EXPECT_EQ(m->parameters.uri, repo.root() / "m1/weights");
  EXPECT_EQ(m->parameters.version, "1");
  EXPECT_EQ(m->parameters.inferencePoolGid, "gpu");
  ASSERT_EQ(m->inputs.size(), 1u);
  EXPECT_EQ(m->inputs[0].datatype, "BYTES");
  EXPECT_EQ(m->parameters.extraJson, R"({"a":1})");
}

TEST(ModelSettings, UnknownFieldsWarnAndErrorsNameTheFile) {
  Repo repo;
  Warnings w;
  const auto ok = repo.write("x/model-settings.json", R"({"implementation": "a.B", "model": "sum", "warm_workers": true})");
  ASSERT_TRUE(loadModelSettings(ok, {}, w).ok());
  EXPECT_TRUE(contains(w, ok.string() + ": unknown field 'model' ignored"));
  EXPECT_TRUE(contains(w, "unknown field 'warm_workers'"));

  auto expectError = [&](std::string_view json, std::string_view fragment) {
    const auto f = repo.write("bad/model-settings.json", json);
    auto m = loadModelSettings(f, {}, w);
    ASSERT_FALSE(m.ok()) << json;
    EXPECT_NE(m.error().message.find(f.string()), std::string::npos) << m.error().message;
    EXPECT_NE(m.error().message.find(fragment), std::string::npos) << m.error().message;
  };
  expectError("{\"implementation\": ", "invalid JSON");
  expectError("{}", "field 'implementation' is required");
  expectError(R"({"implementation": "NoDot"})", "must be \"<module>.<Class>\", got \"NoDot\"");
  expectError(R"({"implementation": "a.B", "inputs": {}})", "field 'inputs' must be a JSON array");
  expectError(R"({"implementation": "a.B", "inputs": [{"name": "x", "shape": [-2]}]})", "entry 0: 'shape' must be");
  expectError(R"({"implementation": "a.B", "max_batch_size": -1})", "field 'max_batch_size' must be an integer");
  expectError(R"({"implementation": "a.B", "parameters": 5})", "field 'parameters' must be an object");
  expectError(R"({"implementation": "a.B", "parameters": {"extra": 5}})", "field 'extra' must be a JSON object");
  expectError(R"({"implementation": "a.B", "parallel_workers": 0})", "parallel_workers");
}

TEST(Repository, BrokenFileNextToGoodOnesIsReportedNotFatal) {
  Repo repo;
  repo.write("settings.json", "{}");
  repo.write("a/model-settings.json", R"({"implementation": "m.A"})");
  repo.write("b/model-settings.json", R"({"implementation": )");
  repo.write("c/deeper/model-settings.json", R"({"implementation": "m.C", "name": "cee", "bogus": 1})");
  repo.write(".envs/abc/model-settings.json", R"({"implementation": "m.Hidden"})");  // cache: skipped
  const auto found = discoverModels(repo.root(), {});
  ASSERT_EQ(found.size(), 3u);
  EXPECT_TRUE(found[0].ok());
  EXPECT_EQ(found[0].settings->name, "a");
  EXPECT_FALSE(found[1].ok());
  EXPECT_EQ(found[1].nameHint, "b");
  EXPECT_EQ(found[1].settingsFile, repo.root() / "b/model-settings.json");
  EXPECT_NE(found[1].error.find((repo.root() / "b/model-settings.json").string()), std::string::npos);
  EXPECT_NE(found[1].error.find("invalid JSON"), std::string::npos);
  EXPECT_TRUE(found[2].ok());
  EXPECT_EQ(found[2].nameHint, "cee");
  EXPECT_TRUE(contains(found[2].warnings, "unknown field 'bogus'"));
}

TEST(Repository, DefaultModelFromTheEnvironment) {
  Repo repo;
  EXPECT_TRUE(discoverModels(repo.root(), {}).empty());
  const EnvMap env = {{"MLSERVER_MODEL_IMPLEMENTATION", "runtime.Model"}, {"MLSERVER_MODEL_NAME", "envmodel"},
                      {"RINGSERVE_MODEL_URI", "/models/x"}};
  auto found = discoverModels(repo.root(), env);
  ASSERT_EQ(found.size(), 1u);
  ASSERT_TRUE(found[0].ok()) << found[0].error;
  EXPECT_EQ(found[0].settings->name, "envmodel");
  EXPECT_EQ(found[0].settings->implementation, "runtime.Model");
  EXPECT_EQ(found[0].settings->parameters.uri, fs::path("/models/x"));
  EXPECT_TRUE(found[0].settingsFile.empty());

  // Once a model-settings.json exists, the env only supplies defaults.
  repo.write("m/model-settings.json", R"({"name": "filemodel"})");
  found = discoverModels(repo.root(), env);
  ASSERT_EQ(found.size(), 1u);
  ASSERT_TRUE(found[0].ok()) << found[0].error;
  EXPECT_EQ(found[0].settings->name, "filemodel");
  EXPECT_EQ(found[0].settings->implementation, "runtime.Model");

  // An env model that cannot be built is an error entry naming the variable.
  Repo empty;
  auto bad = discoverModels(empty.root(), {{"RINGSERVE_MODEL_IMPLEMENTATION", "nodot"}});
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_FALSE(bad[0].ok());
  EXPECT_NE(bad[0].error.find("RINGSERVE_MODEL_"), std::string::npos) << bad[0].error;
}

TEST(Repository, MissingRepositoryIsAnErrorEntry) {
  auto found = discoverModels("/nonexistent/ringserve-repo", {});
  ASSERT_EQ(found.size(), 1u);
  EXPECT_FALSE(found[0].ok());
  EXPECT_NE(found[0].error.find("cannot list the model repository"), std::string::npos);
}

TEST(Versions, DefaultVersionChoice) {
  using V = std::vector<std::optional<std::string>>;
  EXPECT_EQ(defaultVersionIndex(V{}), std::nullopt);
  EXPECT_EQ(defaultVersionIndex(V{"1", "10", "9"}), 1u);            // integers compare numerically
  EXPECT_EQ(defaultVersionIndex(V{"1", std::nullopt, "10"}), 1u);   // no version counts as newest
  EXPECT_EQ(defaultVersionIndex(V{"alpha", "beta", "abc"}), 1u);    // lexicographic otherwise
  EXPECT_EQ(defaultVersionIndex(V{"v9", "2", "v10"}), 1u);          // an integer version wins
  EXPECT_EQ(defaultVersionIndex(V{"-3", "-1"}), 1u);
  EXPECT_EQ(defaultVersionIndex(V{"2", "2"}), 0u);                  // ties keep the first
}

}  // namespace
}  // namespace ringserve::supervisor::settings
