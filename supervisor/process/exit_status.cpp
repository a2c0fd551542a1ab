#include "supervisor/process/exit_status.hpp"

#include <sys/wait.h>

#include <cstring>

namespace ringserve::supervisor {

std::string describeWaitStatus(int waitStatus) {
  if (WIFEXITED(waitStatus)) return "exited with status " + std::to_string(WEXITSTATUS(waitStatus));
  if (WIFSIGNALED(waitStatus)) {
    const int sig = WTERMSIG(waitStatus);
    const char* abbrev = ::sigabbrev_np(sig);
    std::string s = "killed by signal " + std::to_string(sig);
    std::string extra = abbrev != nullptr ? std::string("SIG") + abbrev : std::string();
    if (WCOREDUMP(waitStatus)) extra += extra.empty() ? "core dumped" : ", core dumped";
    if (!extra.empty()) s += " (" + extra + ")";
    return s;
  }
  return "ended with wait status " + std::to_string(waitStatus);
}

}  // namespace ringserve::supervisor
