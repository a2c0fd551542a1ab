#pragma once
// A wait status in words, as users see it in 503s and model reasons.
#include <string>

namespace ringserve::supervisor {

// "exited with status 1", "killed by signal 9 (SIGKILL)", "killed by signal 11 (SIGSEGV, core dumped)"
std::string describeWaitStatus(int waitStatus);

}  // namespace ringserve::supervisor
