// Bad plugins and misbehaving runtimes: each gives a clear error and the worker keeps serving.
#include <gtest/gtest.h>

#include "harness.hpp"

namespace ringserve::testing {
namespace {

using schema::DataType;
using schema::ErrorCode;

TensorData fp32(std::string name, std::vector<float> v) {
  return {std::move(name), DataType::FP32, {static_cast<std::int64_t>(v.size())}, rawPayload(v), ""};
}

class PluginErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    ModelArgs echo;
    echo.handle = 100;
    echo.name = "echo";
    echo.implementation = "echo.EchoRuntime";
    ASSERT_TRUE(w.load(echo).ok);
  }
  // The healthy model still answers.
  void expectStillServing() {
    const auto r = w.infer(100, {fp32("a", {1})});
    EXPECT_TRUE(r.ok) << r.message;
  }
  ControlOutcome loadImpl(const std::string& impl, std::uint32_t handle = 1) {
    ModelArgs m;
    m.handle = handle;
    m.implementation = impl;
    return w.load(m);
  }
  InferOutcome predictWith(const std::string& impl) {
    const auto l = loadImpl(impl, ++nextHandle);
    EXPECT_TRUE(l.ok) << l.message;
    return w.infer(nextHandle, {fp32("a", {1})});
  }
  WorkerHarness w;
  std::uint32_t nextHandle = 1;
};

void expectContains(const std::string& text, const std::string& part) {
  EXPECT_NE(text.find(part), std::string::npos) << "'" << part << "' not in: " << text;
}

TEST_F(PluginErrors, AFileThatIsNotASharedLibrary) {
  const auto r = loadImpl("not_a_library.Anything");
  EXPECT_FALSE(r.ok);
  expectContains(r.message, "cannot load runtime library " + testRuntimeDir() + "/not_a_library.so");
  expectStillServing();
}

TEST_F(PluginErrors, ALibraryWithoutEntryPoints) {
  const auto r = loadImpl("no_entry_points.Anything");
  EXPECT_FALSE(r.ok);
  expectContains(r.message, "is not a ringserve runtime plugin: it exports no ringserve_plugin_api_version");
  expectStillServing();
}

TEST_F(PluginErrors, APluginBuiltForAnotherAbiMajorNamesBothVersions) {
  const auto r = loadImpl("abi_two.Anything");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.code, ErrorCode::INCOMPATIBLE);
  expectContains(r.message, "was built for SDK ABI 2.0; this worker supports SDK ABI 1.0-1.1");
  expectStillServing();
}

TEST_F(PluginErrors, AnUnknownModuleListsEveryPlaceSearched) {
  const auto r = loadImpl("nosuchmodule.Runtime");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.code, ErrorCode::NOT_FOUND);
  expectContains(r.message, "runtime module 'nosuchmodule' of implementation 'nosuchmodule.Runtime' not found");
  expectContains(r.message, testRuntimeDir() + "/nosuchmodule.so");
  expectContains(r.message, testRuntimeDir() + "/libnosuchmodule.so");
  expectContains(r.message, builtinRuntimeDir() + "/nosuchmodule.so");
  expectStillServing();
}

TEST_F(PluginErrors, AnUnknownClassListsTheClassesTheLibraryRegisters) {
  const auto r = loadImpl("echo.NoSuchClass");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.code, ErrorCode::NOT_FOUND);
  expectContains(r.message, "does not register class 'NoSuchClass'");
  expectContains(r.message, "it registers: 'EchoRuntime'");
  expectStillServing();
}

TEST_F(PluginErrors, AnImplementationWithoutAModule) {
  const auto r = loadImpl("JustAClass");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.code, ErrorCode::BAD_INPUT);
  expectContains(r.message, "must be \"<module>.<Class>\"");
}

TEST_F(PluginErrors, ThrowingInTheConstructorFailsTheLoad) {
  const auto r = loadImpl("faulty.ThrowsInConstructor");
  EXPECT_FALSE(r.ok);
  expectContains(r.message, "faulty.ThrowsInConstructor: constructing the runtime failed: constructor exploded");
  expectStillServing();
}

TEST_F(PluginErrors, ThrowingInLoadFailsTheLoad) {
  const auto r = loadImpl("faulty.ThrowsInLoad");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.code, ErrorCode::INTERNAL);
  expectContains(r.message, "faulty.ThrowsInLoad: load() failed: weights file is corrupt");
  const auto infer = w.infer(1, {fp32("a", {1})});
  EXPECT_EQ(infer.code, ErrorCode::NOT_FOUND) << "a failed load leaves nothing behind";
  expectStillServing();
}

TEST_F(PluginErrors, AStandardExceptionInPredictIsAnInternalErrorForThatRequest) {
  const auto r = predictWith("faulty.ThrowsInPredict");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.code, ErrorCode::INTERNAL);
  EXPECT_EQ(r.message, "faulty.ThrowsInPredict: boom");
  expectStillServing();
  EXPECT_EQ(w.infer(nextHandle, {fp32("a", {1})}).message, "faulty.ThrowsInPredict: boom") << "the model stays loaded";
}

TEST_F(PluginErrors, ANonStandardExceptionInPredict) {
  const auto r = predictWith("faulty.ThrowsNonStandard");
  EXPECT_EQ(r.code, ErrorCode::INTERNAL);
  expectContains(r.message, "faulty.ThrowsNonStandard: unknown exception");
  expectStillServing();
}

TEST_F(PluginErrors, TheSdkBadInputErrorIsBadInputWithTheMessageAsIs) {
  const auto r = predictWith("faulty.RejectsInput");
  EXPECT_EQ(r.code, ErrorCode::BAD_INPUT);
  EXPECT_EQ(r.message, "values must be positive");
  expectStillServing();
}

TEST_F(PluginErrors, AnOutputWithTheWrongElementCountNamesTheOutput) {
  const auto r = predictWith("faulty.WrongElementCount");
  EXPECT_EQ(r.code, ErrorCode::INTERNAL);
  EXPECT_EQ(r.message, "faulty.WrongElementCount: output 'out' has shape [4] (4 elements) but 3 elements were given");
  expectStillServing();
}

TEST_F(PluginErrors, ABytesOutputWithTheWrongElementCountIsCaughtByTheWorker) {
  const auto r = predictWith("faulty.WrongBytesCount");
  EXPECT_EQ(r.code, ErrorCode::INTERNAL);
  expectContains(r.message, "output 'out'");
  expectStillServing();
}

TEST_F(PluginErrors, WritingPastAnOutputIsCaught) {
  const auto r = predictWith("faulty.Overrun");
  EXPECT_EQ(r.code, ErrorCode::INTERNAL);
  EXPECT_EQ(r.message, "faulty.Overrun: output 'out': the runtime wrote past the end of its 8-byte allocation");
  expectStillServing();
}

TEST_F(PluginErrors, AFailingUnloadIsReportedAndTheModelIsGone) {
  ASSERT_TRUE(loadImpl("faulty.ThrowsInUnload", 7).ok);
  const auto r = w.unload(7);
  EXPECT_FALSE(r.ok);
  expectContains(r.message, "faulty.ThrowsInUnload: unload() failed: could not free the accelerator");
  EXPECT_EQ(w.infer(7, {fp32("a", {1})}).code, ErrorCode::NOT_FOUND);
  expectStillServing();
}

constexpr const char* kBatching = R"({"name":"nb","max_batch_size":4,"max_batch_time":0.01})";

TEST_F(PluginErrors, ARuntimeWithoutBatchingRefusesSettingsThatEnableIt) {
  ModelArgs m;
  m.handle = 11;
  m.name = "nb";
  m.implementation = "faulty.NoBatching";
  m.settingsJson = kBatching;
  const auto r = w.load(m);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.code, ErrorCode::BAD_INPUT);
  EXPECT_EQ(r.message,
            "model nb: runtime faulty.NoBatching does not support batching; remove "
            "max_batch_size/max_batch_time from its model-settings.json");
  EXPECT_EQ(w.infer(11, {fp32("a", {1})}).code, ErrorCode::NOT_FOUND) << "the refused load leaves nothing behind";
  expectStillServing();
}

TEST_F(PluginErrors, ARuntimeWithoutBatchingLoadsWhenTheSettingsDoNotBatch) {
  // MLServer's rule: batching needs max_batch_size > 1 and max_batch_time > 0.
  const std::vector<std::string> settings = {"{}", R"({"max_batch_size":1,"max_batch_time":0.5})",
                                             R"({"max_batch_size":8,"max_batch_time":0})",
                                             R"({"max_batch_size":0,"max_batch_time":1})"};
  std::uint32_t handle = 20;
  for (const auto& json : settings) {
    ModelArgs m;
    m.handle = ++handle;
    m.implementation = "faulty.NoBatching";
    m.settingsJson = json;
    const auto r = w.load(m);
    ASSERT_TRUE(r.ok) << json << ": " << r.message;
    EXPECT_TRUE(w.infer(handle, {fp32("a", {1})}).ok) << json;
  }
}

TEST_F(PluginErrors, RuntimesSupportBatchingUnlessTheySayOtherwise) {
  ModelArgs sdk;  // an SDK runtime that does not override supportsBatching()
  sdk.handle = 12;
  sdk.implementation = "faulty.ThrowsInPredict";
  sdk.settingsJson = kBatching;
  const auto r = w.load(sdk);
  EXPECT_TRUE(r.ok) << r.message;
  ModelArgs old;  // an ABI 1.0 plugin, which has no ringserve_model_supports_batching
  old.handle = 13;
  old.implementation = "abi_one_zero.Plain";
  old.settingsJson = kBatching;
  const auto l = w.load(old);
  ASSERT_TRUE(l.ok) << l.message;
  EXPECT_TRUE(w.infer(13, {fp32("a", {1})}).ok);
}

TEST_F(PluginErrors, SettingsReachTheRuntime) {
  ModelArgs m;
  m.handle = 9;
  m.name = "probe";
  m.version = "3";
  m.implementation = "faulty.SettingsProbe";
  m.settingsJson = R"({"name":"probe","parameters":{"uri":"/models/probe/w.bin","version":"3","extra":{"k":[1,2]}}})";
  ASSERT_TRUE(w.load(m).ok);
  const auto r = w.infer(9, {fp32("a", {1})});
  ASSERT_TRUE(r.ok) << r.message;
  EXPECT_EQ(r.parametersJson, R"({"uri":"/models/probe/w.bin","version":"3","extra":{"k":[1,2]}})");
}

}  // namespace
}  // namespace ringserve::testing
