// The bodies of Triton's model-configuration and statistics extensions, byte for byte: what
// tritonclient and perf_analyzer read (field names of Triton's model_config.proto / grpc_service.proto).
#include "supervisor/codec/triton_bodies.hpp"

#include <gtest/gtest.h>

namespace ringserve::supervisor::codec {
namespace {

TEST(TritonBodies, DataTypesInTritonsSpelling) {
  const std::pair<const char*, const char*> cases[] = {
      {"BOOL", "TYPE_BOOL"},     {"UINT8", "TYPE_UINT8"}, {"UINT16", "TYPE_UINT16"}, {"UINT32", "TYPE_UINT32"},
      {"UINT64", "TYPE_UINT64"}, {"INT8", "TYPE_INT8"},   {"INT16", "TYPE_INT16"},   {"INT32", "TYPE_INT32"},
      {"INT64", "TYPE_INT64"},   {"FP16", "TYPE_FP16"},   {"FP32", "TYPE_FP32"},     {"FP64", "TYPE_FP64"},
      {"BYTES", "TYPE_STRING"},  {"BF16", "TYPE_BF16"}};
  for (const auto& [v2, triton] : cases) EXPECT_EQ(tritonDataType(v2), triton) << v2;
  EXPECT_EQ(tritonDataType(""), "TYPE_INVALID");  // a declared tensor without a datatype
  EXPECT_EQ(tritonDataType("fp32"), "TYPE_INVALID");
  EXPECT_EQ(tritonDataType("STRING"), "TYPE_INVALID");
}

TEST(TritonBodies, ConfigOfAModelThatDoesNotBatch) {
  const std::vector<std::int64_t> x = {-1, 3}, y = {-1, 2};
  ModelConfigText c{"mat\"mul", "",          "matmul.MatMul", 0, {{"x", "FP32", x, "np"}}, {{"y", "BYTES", y, ""}},
                    2,          std::nullopt};
  EXPECT_EQ(modelConfigBody(c),
            R"({"name":"mat\"mul","platform":"","backend":"matmul.MatMul","max_batch_size":0,)"
            R"("input":[{"name":"x","data_type":"TYPE_FP32","format":"FORMAT_NONE","dims":[-1,3]}],)"
            R"("output":[{"name":"y","data_type":"TYPE_STRING","dims":[-1,2]}],)"
            R"("instance_group":[{"name":"mat\"mul_0","kind":"KIND_CPU","count":2}]})");
}

TEST(TritonBodies, ConfigOfABatchingModelLeavesOutTheBatchDimension) {
  const std::vector<std::int64_t> x = {-1, 3}, scalar = {};
  ModelConfigText c{"m", "p", "b", 8, {{"x", "FP32", x, ""}, {"s", "INT64", scalar, ""}}, {}, 0, 2000};
  EXPECT_EQ(modelConfigBody(c),
            R"({"name":"m","platform":"p","backend":"b","max_batch_size":8,)"
            R"("dynamic_batching":{"max_queue_delay_microseconds":2000},)"
            R"("input":[{"name":"x","data_type":"TYPE_FP32","format":"FORMAT_NONE","dims":[3]},)"
            R"({"name":"s","data_type":"TYPE_INT64","format":"FORMAT_NONE","dims":[]}],"output":[],)"
            R"("instance_group":[{"name":"m_0","kind":"KIND_CPU","count":0}]})");
}

TEST(TritonBodies, StatisticsRows) {
  EXPECT_EQ(modelStatsBody({}), R"({"model_stats":[]})");
  StatsValues v;
  v.lastInferenceMs = 1700000000123;
  v.inferenceCount = 7;
  v.executionCount = 5;
  v.success = {5, 1000};
  v.fail = {1, 20};
  v.queue = {5, 30};
  v.computeInput = {5, 40};
  v.computeInfer = {5, 500};
  v.computeOutput = {5, 60};
  const std::vector<ModelStatsRow> rows = {{"echo", "", v}, {"matmul", "2", {}}};
  EXPECT_EQ(modelStatsBody(rows),
            R"({"model_stats":[{"name":"echo","version":"","last_inference":1700000000123,"inference_count":7,)"
            R"("execution_count":5,"inference_stats":{"success":{"count":5,"ns":1000},"fail":{"count":1,"ns":20},)"
            R"("queue":{"count":5,"ns":30},"compute_input":{"count":5,"ns":40},)"
            R"("compute_infer":{"count":5,"ns":500},"compute_output":{"count":5,"ns":60},)"
            R"("cache_hit":{"count":0,"ns":0},"cache_miss":{"count":0,"ns":0}},"batch_stats":[]},)"
            R"({"name":"matmul","version":"2","last_inference":0,"inference_count":0,"execution_count":0,)"
            R"("inference_stats":{"success":{"count":0,"ns":0},"fail":{"count":0,"ns":0},)"
            R"("queue":{"count":0,"ns":0},"compute_input":{"count":0,"ns":0},)"
            R"("compute_infer":{"count":0,"ns":0},"compute_output":{"count":0,"ns":0},)"
            R"("cache_hit":{"count":0,"ns":0},"cache_miss":{"count":0,"ns":0}},"batch_stats":[]}]})");
}

}  // namespace
}  // namespace ringserve::supervisor::codec
