#pragma once
// How to start one worker: everything that ends up on its command line, in its environment or in
// its scheduling. Plain data; WorkerProcess::spawn consumes it.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "transport/layout.hpp"

namespace ringserve::supervisor {

struct WorkerLaunch {
  // The worker binary: the server's own `ringserve-worker`, or `<env>/bin/ringserve-worker`.
  std::string executable;
  // "<pool>/<index>", e.g. "default/0"; passed as --worker-id, names the worker in every message.
  std::string workerId;
  // Where this worker comes from, for messages: "default" or "environment sha256:ab12…".
  std::string poolLabel;
  // Segment geometry; `segment.lane_count` = number of HTTP loops (one lane each).
  transport::SegmentConfig segment;
  // Added to (or replacing in) the supervisor's environment, e.g. {"LD_LIBRARY_PATH", "<env>/lib"}.
  std::vector<std::pair<std::string, std::string>> extraEnv;
  // Pin the worker to this CPU (sched_setaffinity in the child before exec). Default: not pinned.
  std::optional<int> cpu;
  std::string logLevel = "info";     // --log-level
  std::uint32_t spinUs = 20;          // --spin-us
  std::uint32_t heartbeatMs = 1000;   // --heartbeat-ms
  bool jsonLogs = false;              // --json-logs
  // A worker that has not said hello by then is killed: "no handshake within 10 s".
  std::chrono::milliseconds handshakeTimeout{10'000};
  // Appended to the command line (test doubles take their misbehaviour from here).
  std::vector<std::string> extraArgs;
};

}  // namespace ringserve::supervisor
