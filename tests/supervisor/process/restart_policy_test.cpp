#include "supervisor/process/restart_policy.hpp"

#include <gtest/gtest.h>

namespace ringserve::supervisor {
namespace {

using namespace std::chrono_literals;
using Clock = RestartPolicy::Clock;

TEST(RestartPolicy, BackoffDoublesFromTheInitialDelayUpToTheCap) {
  RestartPolicyConfig c;
  c.crashLoopDeaths = 100;
  RestartPolicy p(c);
  Clock::time_point t{};
  std::vector<long> delays;
  for (int i = 0; i < 9; ++i) {
    p.started(t);
    t += 1s;
    auto d = p.died(t, "exited with status 1");
    ASSERT_TRUE(d.restart);
    delays.push_back(static_cast<long>(d.delay.count()));
  }
  EXPECT_EQ(delays, (std::vector<long>{100, 200, 400, 800, 1600, 3200, 6400, 10000, 10000}));
  EXPECT_EQ(p.restarts(), 9u);
}

TEST(RestartPolicy, CrashLoopGivesUpWithTheLastReason) {
  RestartPolicy p;  // 5 deaths within 60 s
  Clock::time_point t{};
  for (int i = 0; i < 4; ++i) {
    t += 1s;
    EXPECT_TRUE(p.died(t, "killed by signal 11 (SIGSEGV)").restart);
  }
  t += 1s;
  auto d = p.died(t, "killed by signal 9 (SIGKILL)");
  EXPECT_FALSE(d.restart);
  EXPECT_EQ(d.reason, "crashed 5 times within 60 s; last: killed by signal 9 (SIGKILL)");
}

TEST(RestartPolicy, DeathsOutsideTheWindowDoNotCount) {
  RestartPolicy p;
  Clock::time_point t{};
  for (int i = 0; i < 20; ++i) {
    t += 16s;  // at most 4 deaths in any 60 s
    EXPECT_TRUE(p.died(t, "exited with status 1").restart) << i;
  }
}

TEST(RestartPolicy, StableRunningResetsTheBackoff) {
  RestartPolicy p;
  Clock::time_point t{};
  p.started(t);
  EXPECT_EQ(p.died(t += 1s, "x").delay, 100ms);
  p.started(t);
  EXPECT_EQ(p.died(t += 1s, "x").delay, 200ms);
  p.started(t);
  EXPECT_EQ(p.died(t += 1s, "x").delay, 400ms);
  p.started(t);
  EXPECT_EQ(p.died(t += 31s, "x").delay, 100ms);  // ran longer than stableAfter (30 s)
}

TEST(RestartPolicy, DeathsBeforeReadyKeepBackingOff) {
  RestartPolicy p;
  Clock::time_point t{};
  p.started(t);
  EXPECT_EQ(p.died(t += 40s, "x").delay, 100ms);
  // No started() in between: a worker failing its handshake never counts as stable.
  EXPECT_EQ(p.died(t += 40s, "x").delay, 200ms);
}

TEST(RestartPolicy, ResetForgetsTheCrashLoop) {
  RestartPolicy p;
  Clock::time_point t{};
  for (int i = 0; i < 5; ++i) (void)p.died(t += 1s, "x");
  p.reset();
  auto d = p.died(t += 1s, "x");
  EXPECT_TRUE(d.restart);
  EXPECT_EQ(d.delay, 100ms);
}

TEST(RestartPolicy, DurationsReadNaturally) {
  EXPECT_EQ(formatDuration(200ms), "200 ms");
  EXPECT_EQ(formatDuration(10s), "10 s");
  EXPECT_EQ(formatDuration(1500ms), "1.5 s");
}

}  // namespace
}  // namespace ringserve::supervisor
