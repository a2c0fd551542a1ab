#pragma once
// transport_echo_peer as a child process: fork + exec with the segment and lane eventfds
// inherited, a pidfd to notice its death without polling. Move-only; the destructor SIGKILLs and
// reaps a peer that is still running, so a failing test leaves no process behind.
#include <sys/types.h>

#include <string>
#include <vector>

#include "transport/segment.hpp"

namespace ringserve::transport::testing {

class PeerProcess {
 public:
  // Starts the peer on `shmFd` (any fd; the child gets a copy without CLOEXEC).
  static PeerProcess spawn(int shmFd, const std::vector<int>& laneFds, const std::vector<std::string>& extraArgs = {});
  PeerProcess() = default;
  PeerProcess(PeerProcess&& o) noexcept;
  PeerProcess& operator=(PeerProcess&&) = delete;
  PeerProcess(const PeerProcess&) = delete;
  ~PeerProcess();

  pid_t pid() const { return pid_; }
  int pidfd() const { return pidfd_; }
  int stderrFd() const { return stderr_; }
  // Waits for the exit and returns the waitpid status.
  int wait();
  std::string readStderr();

 private:
  pid_t pid_ = -1;
  int pidfd_ = -1;
  int stderr_ = -1;
  bool reaped_ = false;
};

}  // namespace ringserve::transport::testing
