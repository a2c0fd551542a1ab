#pragma once
// fork+exec of a worker with exactly the fds it is meant to inherit. Internal to this folder.
#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ringserve::supervisor::detail {

struct ChildSpec {
  std::string executable;
  // argv[1..]; the fds of `inherit` are renumbered to 3, 4, ... in the child, in order, and the
  // arguments may name them through the placeholders "{fd0}", "{fd1}", ... (also inside a longer
  // argument such as "{fd2},{fd3}").
  std::vector<std::string> args;
  std::vector<int> inherit;
  std::vector<std::pair<std::string, std::string>> extraEnv;
  std::optional<int> cpu;
};

// Starts the child. Every fd of this process other than 0-2 and `inherit` is closed in the child
// (whatever its CLOEXEC flag), signal dispositions and the signal mask are reset to defaults, the
// CPU affinity is set if asked. Waits only until exec succeeded or failed: an exec failure
// ("exec /x/ringserve-worker: No such file or directory") is returned as text, and that child
// is already reaped. Success: the pid.
struct SpawnResult {
  pid_t pid = -1;
  std::string error;
  int sysErrno = 0;  // the errno behind `error` (0 when it is not a failed call's)
};
SpawnResult spawnChild(const ChildSpec& spec);

}  // namespace ringserve::supervisor::detail
