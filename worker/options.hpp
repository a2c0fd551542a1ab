#pragma once
// The worker's command line (the contract with supervisor/process/, see README.md).
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace ringserve::worker {

struct Options {
  int shmFd = -1;
  int controlFd = -1;
  std::vector<int> laneFds;
  std::string workerId = "default/0";
  std::string logLevel = "info";
  std::uint64_t spinUs = 20;
  std::uint64_t heartbeatMs = 1000;
  bool jsonLogs = false;
};

// Options, or the exit status CLI11 chose (0 for --help/--version) after printing its message.
std::variant<Options, int> parseOptions(int argc, char** argv);

}  // namespace ringserve::worker
