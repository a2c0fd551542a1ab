#pragma once
// What the WorkerProcess tests share: an event loop to run until something happened (with a
// generous guard so a bug fails the test instead of hanging it; not a timing assertion), a
// recorder for the worker's events, and process/fd inspection helpers.
#include <event2/event.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "supervisor/process/worker_process.hpp"

namespace ringserve::supervisor::test {

class Loop {
 public:
  Loop();
  ~Loop();
  event_base* base() const { return base_; }
  // Runs the loop until `done()` holds; false if the guard (60 s) expired first.
  bool runUntil(const std::function<bool()>& done);

 private:
  event_base* base_;
};

struct Recorder {
  std::optional<WorkerHello> ready;
  std::optional<WorkerExit> exit;
  std::vector<WorkerHeartbeat> heartbeats;
  int exitCalls = 0;
  WorkerEvents events();
};

// A launch of the fake worker (tests/supervisor/process/fake_worker.cpp) in `mode`.
WorkerLaunch fakeLaunch(const std::string& mode, std::uint32_t lanes = 2);

// Number of this process's fds that are ringserve memfds ("/memfd:ringserve:...").
int countSegmentFds();
// True when `pid` is neither running nor a zombie of ours (waitpid says ECHILD).
bool fullyReaped(int pid);

}  // namespace ringserve::supervisor::test
