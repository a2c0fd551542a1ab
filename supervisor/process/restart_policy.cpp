#include "supervisor/process/restart_policy.hpp"

#include <cstdio>

namespace ringserve::supervisor {

void RestartPolicy::started(Clock::time_point now) {
  running_ = true;
  startedAt_ = now;
}

RestartPolicy::Decision RestartPolicy::died(Clock::time_point now, const std::string& reason) {
  if (running_ && now - startedAt_ >= config_.stableAfter) consecutive_ = 0;
  running_ = false;
  ++consecutive_;
  deaths_.push_back(now);
  while (!deaths_.empty() && now - deaths_.front() > config_.crashLoopWindow) deaths_.pop_front();

  Decision d;
  if (deaths_.size() >= config_.crashLoopDeaths) {
    d.restart = false;
    d.reason = "crashed " + std::to_string(deaths_.size()) + " times within " +
               formatDuration(config_.crashLoopWindow) + "; last: " + reason;
    return d;
  }
  // Doubling from initialBackoff; the shift is bounded so it cannot overflow.
  auto delay = config_.initialBackoff;
  for (std::uint32_t i = 1; i < consecutive_ && delay < config_.maxBackoff; ++i) delay *= 2;
  d.restart = true;
  d.delay = delay < config_.maxBackoff ? delay : config_.maxBackoff;
  ++restarts_;
  return d;
}

void RestartPolicy::reset() {
  deaths_.clear();
  consecutive_ = 0;
  running_ = false;
}

std::string formatDuration(std::chrono::milliseconds d) {
  const auto ms = d.count();
  if (ms < 1000) return std::to_string(ms) + " ms";
  char buf[32];
  if (ms % 1000 == 0) {
    std::snprintf(buf, sizeof buf, "%lld s", static_cast<long long>(ms / 1000));
  } else {
    std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ms) / 1000.0);
  }
  return buf;
}

}  // namespace ringserve::supervisor
