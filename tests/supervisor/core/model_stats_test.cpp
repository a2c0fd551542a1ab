// Triton's statistics store: what one success and one failure add, and which rows a request for a
// model, a version or every model gets from a routing table.
#include "supervisor/core/model_stats.hpp"

#include <gtest/gtest.h>

#include "supervisor/core/routing.hpp"

namespace ringserve::supervisor {
namespace {

std::uint64_t nowMs() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

TEST(ModelStats, SuccessesAddEveryPhaseAndFailuresOnlyTheirDuration) {
  ModelStats s;
  EXPECT_EQ(s.values().success, (codec::DurationValue{0, 0}));
  EXPECT_EQ(s.values().lastInferenceMs, 0u);
  const auto before = nowMs();
  s.recordSuccess({100, 10, 20, 30, 40, 1});
  s.recordSuccess({200, 1, 2, 3, 4, 4});
  s.recordFailure(7);
  const auto v = s.values();
  EXPECT_EQ(v.inferenceCount, 5u);  // the batch sizes
  EXPECT_EQ(v.executionCount, 2u);
  EXPECT_EQ(v.success, (codec::DurationValue{2, 300}));
  EXPECT_EQ(v.fail, (codec::DurationValue{1, 7}));
  EXPECT_EQ(v.queue, (codec::DurationValue{2, 11}));
  EXPECT_EQ(v.computeInput, (codec::DurationValue{2, 22}));
  EXPECT_EQ(v.computeInfer, (codec::DurationValue{2, 33}));
  EXPECT_EQ(v.computeOutput, (codec::DurationValue{2, 44}));
  EXPECT_GE(v.lastInferenceMs, before);
  EXPECT_LE(v.lastInferenceMs, nowMs());
}

TEST(ModelStats, NanosBetweenNeverGoesBackwards) {
  const auto t = std::chrono::steady_clock::now();
  EXPECT_EQ(nanosBetween(t, t + std::chrono::microseconds(3)), 3000u);
  EXPECT_EQ(nanosBetween(t + std::chrono::microseconds(3), t), 0u);
}

std::shared_ptr<const ModelRoute> route(const std::string& name, const std::string& version, std::uint64_t successes) {
  auto r = std::make_shared<ModelRoute>();
  r->name = name;
  r->version = version;
  r->counters = std::make_shared<ModelCounters>();
  for (std::uint64_t i = 0; i < successes; ++i) r->counters->stats.recordSuccess({1, 0, 0, 0, 0, 1});
  return r;
}

RoutingTable table() {
  RoutingTable t;
  t.models["zeta"].byVersion[""] = route("zeta", "", 1);
  t.models["matmul"].byVersion["2"] = route("matmul", "2", 2);
  t.models["matmul"].byVersion["1"] = route("matmul", "1", 3);
  t.models["matmul"].defaultVersion = "2";
  t.models["echo"].byVersion[""] = route("echo", "", 4);
  return t;
}

std::vector<std::pair<std::string, std::uint64_t>> keys(const std::vector<codec::ModelStatsRow>& rows) {
  std::vector<std::pair<std::string, std::uint64_t>> out;
  for (const auto& r : rows) out.emplace_back(r.name + "/" + r.version, r.values.success.count);
  return out;
}

TEST(ModelStats, CollectsEveryModelAModelOrOneVersion) {
  const auto t = table();
  auto all = collectStats(t, "", "");
  ASSERT_TRUE(all);
  EXPECT_EQ(keys(all.value()), (std::vector<std::pair<std::string, std::uint64_t>>{
                                   {"echo/", 4}, {"matmul/1", 3}, {"matmul/2", 2}, {"zeta/", 1}}));
  auto every = collectStats(t, "matmul", "");  // every version, not the default one
  ASSERT_TRUE(every);
  EXPECT_EQ(keys(every.value()),
            (std::vector<std::pair<std::string, std::uint64_t>>{{"matmul/1", 3}, {"matmul/2", 2}}));
  auto one = collectStats(t, "matmul", "1");
  ASSERT_TRUE(one);
  EXPECT_EQ(keys(one.value()), (std::vector<std::pair<std::string, std::uint64_t>>{{"matmul/1", 3}}));
  EXPECT_TRUE(collectStats(RoutingTable{}, "", "").value().empty());  // no model at all: no error
}

TEST(ModelStats, UnknownModelsAndVersionsAre404WithRestsMessages) {
  const auto t = table();
  auto m = collectStats(t, "nosuch", "");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().kind, ErrorKind::notFound);
  EXPECT_EQ(m.error().message, "Model nosuch not found");
  auto v = collectStats(t, "matmul", "9");
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().kind, ErrorKind::notFound);
  EXPECT_EQ(v.error().message, "Model matmul with version 9 not found");
  EXPECT_FALSE(collectStats(t, "echo", "1"));  // a model without versions has no version 1
}

}  // namespace
}  // namespace ringserve::supervisor
