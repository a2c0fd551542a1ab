#include "clients/loadgen/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace ringserve::loadgen {

std::size_t Histogram::bucketOf(std::uint64_t ns) {
  ns = std::min(ns, kMax);
  if (ns < 2 * kSubBuckets) return std::size_t(ns);
  const int msb = 63 - std::countl_zero(ns);
  const int shift = msb - 7;  // keeps the top 8 bits: 128..255
  return std::size_t(shift + 1) * kSubBuckets + std::size_t((ns >> shift) - kSubBuckets);
}

std::uint64_t Histogram::bucketLow(std::size_t index) {
  if (index < 2 * kSubBuckets) return index;
  const std::size_t shift = index / kSubBuckets - 1;
  const std::uint64_t sub = index % kSubBuckets + kSubBuckets;
  return sub << shift;
}

std::uint64_t Histogram::bucketHigh(std::size_t index) {
  if (index < 2 * kSubBuckets) return index;
  const std::size_t shift = index / kSubBuckets - 1;
  const std::uint64_t sub = index % kSubBuckets + kSubBuckets;
  return ((sub + 1) << shift) - 1;
}

void Histogram::record(std::uint64_t ns) {
  ++counts_[bucketOf(ns)];
  ++count_;
  sum_ += ns;
  min_ = std::min(min_, ns);
  max_ = std::max(max_, ns);
}

void Histogram::merge(const Histogram& other) {
  for (std::size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

void Histogram::reset() { *this = Histogram{}; }

std::uint64_t Histogram::quantile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  const auto rank = std::max<std::uint64_t>(1, std::uint64_t(std::ceil(q * double(count_))));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(bucketHigh(i), max_);
  }
  return max_;
}

}  // namespace ringserve::loadgen
