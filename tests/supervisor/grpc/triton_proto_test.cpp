// The proto subset of Triton's model-configuration and statistics messages: field numbers as
// Triton's model_config.proto / grpc_service.proto (so tritonclient's own stubs read our answers),
// and the REST bodies (codec/triton_bodies.hpp) read into them as the gRPC handlers do.
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include "dataplane.pb.h"
#include "supervisor/codec/triton_bodies.hpp"

namespace {

int number(const google::protobuf::Descriptor* d, const char* field) {
  const auto* f = d->FindFieldByName(field);
  return f == nullptr ? -1 : f->number();
}

TEST(TritonProto, FieldNumbersAreTritons) {
  const auto* c = inference::ModelConfig::descriptor();
  EXPECT_EQ(number(c, "name"), 1);
  EXPECT_EQ(number(c, "platform"), 2);
  EXPECT_EQ(number(c, "max_batch_size"), 4);
  EXPECT_EQ(number(c, "input"), 5);
  EXPECT_EQ(number(c, "output"), 6);
  EXPECT_EQ(number(c, "instance_group"), 7);
  EXPECT_EQ(number(c, "backend"), 17);
  EXPECT_EQ(number(inference::ModelInput::descriptor(), "dims"), 4);
  EXPECT_EQ(number(inference::ModelOutput::descriptor(), "dims"), 3);
  EXPECT_EQ(number(inference::ModelInstanceGroup::descriptor(), "count"), 2);
  EXPECT_EQ(number(inference::ModelInstanceGroup::descriptor(), "kind"), 4);
  EXPECT_EQ(inference::TYPE_STRING, 13);
  EXPECT_EQ(inference::TYPE_BF16, 14);
  EXPECT_EQ(inference::ModelInstanceGroup::KIND_CPU, 2);
  const auto* s = inference::ModelStatistics::descriptor();
  EXPECT_EQ(number(s, "last_inference"), 3);
  EXPECT_EQ(number(s, "inference_stats"), 6);
  EXPECT_EQ(number(s, "batch_stats"), 7);
  const auto* i = inference::InferStatistics::descriptor();
  EXPECT_EQ(number(i, "queue"), 3);
  EXPECT_EQ(number(i, "compute_output"), 6);
  EXPECT_EQ(number(i, "cache_miss"), 8);
  EXPECT_EQ(number(inference::StatisticDuration::descriptor(), "ns"), 2);
}

TEST(TritonProto, RestBodiesReadIntoTheMessages) {
  using namespace ringserve::supervisor::codec;
  const std::vector<std::int64_t> x = {-1, 3};
  ModelConfigText c{"m", "p", "b.B", 0, {{"x", "BYTES", x, ""}}, {{"y", "FP16", x, ""}}, 3, 1500};
  inference::ModelConfig config;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(modelConfigBody(c), &config).ok());
  EXPECT_EQ(config.name(), "m");
  EXPECT_EQ(config.backend(), "b.B");
  ASSERT_EQ(config.input_size(), 1);
  EXPECT_EQ(config.input(0).data_type(), inference::TYPE_STRING);
  EXPECT_EQ(std::vector<std::int64_t>(config.input(0).dims().begin(), config.input(0).dims().end()), x);
  EXPECT_EQ(config.output(0).data_type(), inference::TYPE_FP16);
  ASSERT_EQ(config.instance_group_size(), 1);
  EXPECT_EQ(config.instance_group(0).count(), 3);
  EXPECT_EQ(config.instance_group(0).kind(), inference::ModelInstanceGroup::KIND_CPU);
  EXPECT_EQ(config.dynamic_batching().max_queue_delay_microseconds(), 1500u);

  StatsValues v;
  v.lastInferenceMs = 1700000000123;
  v.inferenceCount = 3;
  v.computeInfer = {3, 18446744073709551615u};  // uint64 all the way
  const std::vector<ModelStatsRow> rows = {{"m", "2", v}};
  inference::ModelStatisticsResponse stats;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(modelStatsBody(rows), &stats).ok());
  ASSERT_EQ(stats.model_stats_size(), 1);
  EXPECT_EQ(stats.model_stats(0).version(), "2");
  EXPECT_EQ(stats.model_stats(0).last_inference(), 1700000000123u);
  EXPECT_EQ(stats.model_stats(0).inference_count(), 3u);
  EXPECT_EQ(stats.model_stats(0).inference_stats().compute_infer().ns(), 18446744073709551615u);
}

}  // namespace
