// The bundled example model repository, loaded from its model-settings.json files by a real
// worker with the example runtimes from the built-in runtime folder.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "harness.hpp"

namespace ringserve::testing {
namespace {

using schema::DataType;

ModelArgs exampleModel(const std::string& folder, std::uint32_t handle, const std::string& name, const std::string& version,
                       const std::string& implementation) {
  const std::string dir = std::string(RINGSERVE_TEST_EXAMPLE_MODELS) + "/" + folder;
  std::ifstream in(dir + "/model-settings.json");
  std::stringstream text;
  text << in.rdbuf();
  ModelArgs m;
  m.handle = handle;
  m.name = name;
  m.version = version;
  m.implementation = implementation;
  m.settingsJson = text.str();
  m.modelDir = dir;
  m.searchPath = {dir, builtinRuntimeDir()};
  return m;
}

template <class T>
std::vector<T> valuesOf(const TensorData& t) {
  std::vector<T> v(t.data.size() / sizeof(T));
  std::memcpy(v.data(), t.data.data(), v.size() * sizeof(T));
  return v;
}

TEST(ExampleModels, QuestionAnsweringScoresWordOverlap) {
  WorkerHarness w;
  const auto l = w.load(exampleModel("qa", 1, "qa", "", "qa.QuestionAnswering"));
  ASSERT_TRUE(l.ok) << l.message;
  EXPECT_EQ(l.inputNames, (std::vector<std::string>{"questions", "context"}));
  EXPECT_EQ(l.outputNames, std::vector<std::string>{"scores"});
  const auto r = w.infer(1, {{"questions", DataType::BYTES, {2}, bytesPayload({"what is the capital of france", "zebra?"}), ""},
                             {"context", DataType::BYTES, {1}, bytesPayload({"Paris is the capital of France"}), ""}});
  ASSERT_TRUE(r.ok) << r.message;
  const TensorData* scores = r.output("scores");
  ASSERT_NE(scores, nullptr);
  EXPECT_EQ(scores->datatype, DataType::FP32);
  EXPECT_EQ(scores->shape, (std::vector<std::int64_t>{2, 1}));
  EXPECT_EQ(valuesOf<float>(*scores), (std::vector<float>{5.0f / 6.0f, 0.0f}));
  EXPECT_EQ(scores->parametersJson, R"({"content_type":"np"})");

  const auto missing = w.infer(1, {{"a", DataType::BYTES, {1}, bytesPayload({"x"}), ""},
                                   {"b", DataType::BYTES, {1}, bytesPayload({"y"}), ""}});
  EXPECT_EQ(missing.code, schema::ErrorCode::BAD_INPUT);
  EXPECT_EQ(missing.message, "Input 'questions' was not found. Available inputs are 'a', 'b'.");
  const auto wrongType = w.infer(1, {{"questions", DataType::FP32, {1}, rawPayload(std::vector<float>{1}), ""},
                                     {"context", DataType::BYTES, {1}, bytesPayload({"y"}), ""}});
  EXPECT_EQ(wrongType.code, schema::ErrorCode::BAD_INPUT);
  EXPECT_EQ(wrongType.message, "Input 'questions' has datatype FP32, expected BYTES.");
}

TEST(ExampleModels, MatMulTwoVersionsReadTheirOwnWeights) {
  WorkerHarness w;
  ASSERT_TRUE(w.load(exampleModel("matmul-v1", 1, "matmul", "1", "matmul.MatMul")).ok);
  const auto l2 = w.load(exampleModel("matmul-v2", 2, "matmul", "2", "matmul.MatMul"));
  ASSERT_TRUE(l2.ok) << l2.message;
  const TensorData x{"x", DataType::FP32, {2, 3}, rawPayload(std::vector<float>{1, 2, 3, 0, 0, 1}), ""};
  const auto v1 = w.infer(1, {x});
  ASSERT_TRUE(v1.ok) << v1.message;
  EXPECT_EQ(v1.modelVersion, "1");
  EXPECT_EQ(v1.output("y")->shape, (std::vector<std::int64_t>{2, 2}));
  EXPECT_EQ(valuesOf<float>(*v1.output("y")), (std::vector<float>{4, 5, 1, 1}));
  const auto v2 = w.infer(2, {x});
  ASSERT_TRUE(v2.ok) << v2.message;
  EXPECT_EQ(valuesOf<float>(*v2.output("y")), (std::vector<float>{-1, 7, -1, 1}));
  const auto bad = w.infer(1, {{"x", DataType::FP32, {1, 2}, rawPayload(std::vector<float>{1, 2}), ""}});
  EXPECT_EQ(bad.code, schema::ErrorCode::BAD_INPUT);
  EXPECT_EQ(bad.message, "input 'x' must have shape [N, 3], got [1, 2]");
}

TEST(ExampleModels, MatMulWithoutItsWeightsFailsToLoadWithTheReason) {
  WorkerHarness w;
  auto m = exampleModel("matmul-v1", 1, "matmul", "1", "matmul.MatMul");
  m.settingsJson = R"({"parameters":{"uri":"/nonexistent/weights.txt"}})";
  const auto l = w.load(m);
  EXPECT_FALSE(l.ok);
  EXPECT_EQ(l.message, "matmul.MatMul: load() failed: cannot open weights file /nonexistent/weights.txt");
}

TEST(ExampleModels, ChecksumUsesZlib) {
  WorkerHarness w;
  ASSERT_TRUE(w.load(exampleModel("checksum", 1, "checksum", "", "checksum.Checksum")).ok);
  const auto r = w.infer(1, {{"data", DataType::BYTES, {2}, bytesPayload({"hello", ""}), ""}});
  ASSERT_TRUE(r.ok) << r.message;
  EXPECT_EQ(valuesOf<std::uint32_t>(*r.output("crc32")), (std::vector<std::uint32_t>{0x3610a686u, 0u}));
  EXPECT_EQ(valuesOf<std::uint32_t>(*r.output("adler32")), (std::vector<std::uint32_t>{0x062c0215u, 1u}));
  EXPECT_NE(r.parametersJson.find("zlib_version"), std::string::npos);
}

TEST(ExampleModels, EchoFromItsSettingsFile) {
  WorkerHarness w;
  ASSERT_TRUE(w.load(exampleModel("echo", 1, "echo", "", "echo.EchoRuntime")).ok);
  const auto r = w.infer(1, {{"t", DataType::INT64, {1}, rawPayload(std::vector<std::int64_t>{42}), ""}});
  ASSERT_TRUE(r.ok) << r.message;
  EXPECT_EQ(valuesOf<std::int64_t>(*r.output("t")), std::vector<std::int64_t>{42});
}

}  // namespace
}  // namespace ringserve::testing
