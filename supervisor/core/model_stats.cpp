#include "supervisor/core/model_stats.hpp"

#include <algorithm>
#include <tuple>

#include "supervisor/core/routing.hpp"

namespace ringserve::supervisor {

void ModelStats::touch() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  lastInferenceMs_.store(static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(now).count()),
                         std::memory_order_relaxed);
}

void ModelStats::recordSuccess(const PhaseTimes& t) {
  inferenceCount_.fetch_add(t.batchSize, std::memory_order_relaxed);
  executionCount_.fetch_add(t.executions, std::memory_order_relaxed);  // a batch is one execution
  success_.add(t.total);
  queue_.add(t.queue);
  computeInput_.add(t.computeInput);
  computeInfer_.add(t.computeInfer);
  computeOutput_.add(t.computeOutput);
  touch();
}

void ModelStats::recordFailure(std::uint64_t totalNs) {
  fail_.add(totalNs);
  touch();
}

codec::StatsValues ModelStats::values() const {
  codec::StatsValues v;
  v.lastInferenceMs = lastInferenceMs_.load(std::memory_order_relaxed);
  v.inferenceCount = inferenceCount_.load(std::memory_order_relaxed);
  v.executionCount = executionCount_.load(std::memory_order_relaxed);
  v.success = success_.value();
  v.fail = fail_.value();
  v.queue = queue_.value();
  v.computeInput = computeInput_.value();
  v.computeInfer = computeInfer_.value();
  v.computeOutput = computeOutput_.value();
  return v;
}

std::uint64_t nanosBetween(std::chrono::steady_clock::time_point from, std::chrono::steady_clock::time_point to) {
  if (to <= from) return 0;
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(to - from).count());
}

namespace {
void appendRows(std::vector<codec::ModelStatsRow>& rows, const ModelVersions& mv, const std::string& version) {
  for (const auto& [v, route] : mv.byVersion) {
    if (!version.empty() && v != version) continue;
    rows.push_back({route->name, route->version, route->counters->stats.values()});
  }
}
}  // namespace

Expected<std::vector<codec::ModelStatsRow>> collectStats(const RoutingTable& table, const std::string& name,
                                                         const std::string& version) {
  std::vector<codec::ModelStatsRow> rows;
  if (name.empty()) {
    for (const auto& [n, mv] : table.models) appendRows(rows, mv, "");
  } else {
    auto mv = table.models.find(name);
    if (mv != table.models.end()) appendRows(rows, mv->second, version);
    if (rows.empty())
      return notFound(version.empty() ? "Model " + name + " not found"
                                      : "Model " + name + " with version " + version + " not found");
  }
  std::sort(rows.begin(), rows.end(),
            [](const auto& a, const auto& b) { return std::tie(a.name, a.version) < std::tie(b.name, b.version); });
  return rows;
}

}  // namespace ringserve::supervisor
