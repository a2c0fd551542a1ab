#include "worker/metric_store.hpp"

#include <algorithm>
#include <string_view>

namespace ringserve::worker {

namespace {
const std::vector<double> kDefaultBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

bool validName(std::string_view n) {
  if (n.empty()) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}
}  // namespace

bool MetricStore::record(const std::string& model, const std::string& version, const ringserve_metric& m) {
  const std::string_view name(m.name.data, m.name.size);
  if (!validName(name) || m.kind > RINGSERVE_METRIC_HISTOGRAM) return false;
  std::lock_guard lock(mu_);
  auto [it, inserted] = metrics_.try_emplace(Key{model, version, std::string(name)});
  MetricValue& v = it->second;
  if (inserted) {
    v.kind = m.kind;
    v.help = std::string(m.help.data, m.help.size);
    if (m.kind == RINGSERVE_METRIC_HISTOGRAM) {
      if (m.bucket_count > 0) v.bounds.assign(m.bucket_bounds, m.bucket_bounds + m.bucket_count);
      else v.bounds = kDefaultBuckets;
      std::sort(v.bounds.begin(), v.bounds.end());
      v.buckets.assign(v.bounds.size(), 0);
    }
  } else if (v.kind != m.kind) {
    return false;
  }
  switch (m.kind) {
    case RINGSERVE_METRIC_COUNTER:
      if (m.value > 0) v.value += m.value;  // counters only go up
      break;
    case RINGSERVE_METRIC_GAUGE: v.value = m.value; break;
    default:
      v.value += m.value;
      ++v.count;
      for (std::size_t i = 0; i < v.bounds.size(); ++i)
        if (m.value <= v.bounds[i]) ++v.buckets[i];
  }
  return true;
}

std::vector<std::pair<MetricStore::Key, MetricValue>> MetricStore::snapshot() const {
  std::lock_guard lock(mu_);
  return {metrics_.begin(), metrics_.end()};
}

}  // namespace ringserve::worker
