#pragma once
// Running the image builder (docker / podman) as a child process. Internal to this folder.
#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ringserve::supervisor::image {

// The absolute path of `program` found on PATH (as execvp would), or nullopt.
std::optional<std::string> findOnPath(const std::string& program);

struct Captured {
  bool started = false;   // false: the program could not be run (`output` says why)
  bool timedOut = false;  // killed after the timeout
  int exitStatus = -1;    // valid when it exited
  std::string output;     // stdout and stderr, interleaved
};

using EnvVars = std::vector<std::pair<std::string, std::string>>;

// Runs argv[0] (looked up on PATH) with `extraEnv` added, stdin from /dev/null, capturing its
// output; SIGKILLs it (and waits for it) when it has not exited within `timeout`.
Captured runCaptured(const std::vector<std::string>& argv, const EnvVars& extraEnv, std::chrono::milliseconds timeout);

// Runs argv[0] with this process's stdout/stderr (build logs stream through), until it exits.
// Returns its exit status, 128+signal when killed by one, or -1 with `error` set when it could
// not be started.
int runInherited(const std::vector<std::string>& argv, const EnvVars& extraEnv, std::string& error);

}  // namespace ringserve::supervisor::image
