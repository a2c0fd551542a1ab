#pragma once
// When to restart a worker that died, and when to give up. Pure (time is passed in), so it is
// tested without sleeping. One instance per worker slot ("default/0"), owned by the pool.
//
//   delay = initialBackoff * 2^(consecutive deaths - 1), capped at maxBackoff;
//   a worker that ran at least `stableAfter` before dying starts again from initialBackoff;
//   `crashLoopDeaths` deaths within `crashLoopWindow` -> give up: the slot's models stay
//   UNAVAILABLE with the reason until an operator loads them again (then call reset()).
// Requested stops are not deaths: don't report them.
#include <chrono>
#include <cstdint>
#include <deque>
#include <string>

namespace ringserve::supervisor {

struct RestartPolicyConfig {
  std::chrono::milliseconds initialBackoff{100};
  std::chrono::milliseconds maxBackoff{10'000};
  std::uint32_t crashLoopDeaths = 5;
  std::chrono::milliseconds crashLoopWindow{60'000};
  std::chrono::milliseconds stableAfter{30'000};
};

class RestartPolicy {
 public:
  using Clock = std::chrono::steady_clock;

  struct Decision {
    bool restart = false;               // false: give up
    std::chrono::milliseconds delay{0}; // wait this long before spawning again
    std::string reason;                 // when giving up: "crashed 5 times within 60 s; last: ..."
  };

  explicit RestartPolicy(RestartPolicyConfig config = {}) : config_(config) {}

  // The worker is running (handshake done) since `now`.
  void started(Clock::time_point now);
  // The worker died at `now` for `reason` (WorkerExit::reason). Also for deaths before ready.
  Decision died(Clock::time_point now, const std::string& reason);
  // Forget the history (an operator asked for the models again).
  void reset();

  std::uint32_t restarts() const { return restarts_; }  // total restarts granted
  const RestartPolicyConfig& config() const { return config_; }

 private:
  RestartPolicyConfig config_;
  std::deque<Clock::time_point> deaths_;  // within the window
  std::uint32_t consecutive_ = 0;
  std::uint32_t restarts_ = 0;
  bool running_ = false;
  Clock::time_point startedAt_{};
};

// "100 ms", "1.5 s", "60 s"
std::string formatDuration(std::chrono::milliseconds d);

}  // namespace ringserve::supervisor
