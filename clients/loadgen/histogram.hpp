#pragma once
// HDR-style latency histogram: log-linear buckets in nanoseconds. Values below 256 ns get a bucket
// each; above, every power of two is split into 128 equal buckets, so a bucket is at most 1/128
// (0.8 %) of its value wide. Values are clamped to kMax (60 s); the exact maximum is kept apart.
// Fixed-size, no allocation after construction, not thread-safe (one per thread, merged at the end).
#include <array>
#include <cstdint>

namespace ringserve::loadgen {

class Histogram {
 public:
  static constexpr std::uint64_t kMax = 60'000'000'000ULL;  // 60 s in ns

  void record(std::uint64_t ns);
  void merge(const Histogram& other);
  void reset();

  std::uint64_t count() const { return count_; }
  std::uint64_t min() const { return count_ ? min_ : 0; }
  std::uint64_t max() const { return max_; }
  double mean() const { return count_ ? double(sum_) / double(count_) : 0.0; }
  // The value at quantile q in [0, 1]: the upper edge of the bucket holding the ceil(q*count)-th
  // smallest value, never above the recorded maximum. 0 when empty.
  std::uint64_t quantile(double q) const;

  // Bucket arithmetic, public for tests.
  static std::size_t bucketOf(std::uint64_t ns);
  static std::uint64_t bucketLow(std::size_t index);
  static std::uint64_t bucketHigh(std::size_t index);
  static constexpr std::size_t kSubBuckets = 128;
  static constexpr std::size_t kBuckets = 30 * kSubBuckets;  // bucketOf(kMax) == 3839

 private:
  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t sum_ = 0;
  std::uint64_t min_ = ~0ULL;
  std::uint64_t max_ = 0;
};

}  // namespace ringserve::loadgen
