#include <gtest/gtest.h>

#include <cstring>

#include "worker/metric_store.hpp"

namespace ringserve::worker {
namespace {

ringserve_metric metric(std::uint32_t kind, const char* name, double value) {
  ringserve_metric m{};
  m.kind = kind;
  m.name = {name, std::strlen(name)};
  m.value = value;
  return m;
}

TEST(MetricStore, CountersGaugesAndHistogramsPerModelVersion) {
  MetricStore s;
  EXPECT_TRUE(s.record("m", "1", metric(RINGSERVE_METRIC_COUNTER, "hits", 2)));
  EXPECT_TRUE(s.record("m", "1", metric(RINGSERVE_METRIC_COUNTER, "hits", 3)));
  EXPECT_TRUE(s.record("m", "2", metric(RINGSERVE_METRIC_COUNTER, "hits", 1)));
  EXPECT_TRUE(s.record("m", "1", metric(RINGSERVE_METRIC_GAUGE, "temp", 5)));
  EXPECT_TRUE(s.record("m", "1", metric(RINGSERVE_METRIC_GAUGE, "temp", 4)));
  const double bounds[] = {1, 10};
  auto h = metric(RINGSERVE_METRIC_HISTOGRAM, "lat", 0.5);
  h.bucket_bounds = bounds;
  h.bucket_count = 2;
  EXPECT_TRUE(s.record("m", "1", h));
  EXPECT_TRUE(s.record("m", "1", metric(RINGSERVE_METRIC_HISTOGRAM, "lat", 5)));
  EXPECT_TRUE(s.record("m", "1", metric(RINGSERVE_METRIC_HISTOGRAM, "lat", 50)));
  EXPECT_FALSE(s.record("m", "1", metric(RINGSERVE_METRIC_GAUGE, "hits", 1))) << "kind is fixed by first use";
  EXPECT_FALSE(s.record("m", "1", metric(RINGSERVE_METRIC_COUNTER, "bad name", 1)));
  const auto snap = s.snapshot();
  ASSERT_EQ(snap.size(), 4u);
  for (const auto& [key, v] : snap) {
    const auto& [model, version, name] = key;
    if (name == "hits") {
      EXPECT_EQ(v.value, version == "1" ? 5.0 : 1.0);
    }
    if (name == "temp") {
      EXPECT_EQ(v.value, 4.0);
    }
    if (name == "lat") {
      EXPECT_EQ(v.count, 3u);
      EXPECT_EQ(v.value, 55.5);
      EXPECT_EQ(v.buckets, (std::vector<std::uint64_t>{1, 2}));
    }
  }
}

}  // namespace
}  // namespace ringserve::worker
