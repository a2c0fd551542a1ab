#include "peer_process.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

namespace ringserve::transport::testing {

PeerProcess PeerProcess::spawn(int shmFd, const std::vector<int>& laneFds, const std::vector<std::string>& extraArgs) {
  int err[2];
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe2 failed";
    return {};
  }
  std::string lanes;
  for (int fd : laneFds) lanes += (lanes.empty() ? "" : ",") + std::to_string(fd);
  std::vector<std::string> args{TRANSPORT_ECHO_PEER_PATH, "--shm-fd", std::to_string(shmFd), "--lane-fds", lanes};
  for (const auto& a : extraArgs) args.push_back(a);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // Only async-signal-safe calls between fork and exec.
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(err[1], 2);
    // Clearing FD_CLOEXEC in the child only is how the worker inherits its fds.
    ::fcntl(shmFd, F_SETFD, 0);
    for (int fd : laneFds) ::fcntl(fd, F_SETFD, 0);
    ::execv(argv[0], argv.data());
    _exit(127);
  }
  ::close(err[1]);
  PeerProcess p;
  p.pid_ = pid;
  p.stderr_ = err[0];
  p.pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  EXPECT_GE(p.pidfd_, 0) << "pidfd_open failed";
  return p;
}

PeerProcess::PeerProcess(PeerProcess&& o) noexcept
    : pid_(o.pid_), pidfd_(o.pidfd_), stderr_(o.stderr_), reaped_(o.reaped_) {
  o.pid_ = -1;
  o.pidfd_ = -1;
  o.stderr_ = -1;
}

PeerProcess::~PeerProcess() {
  if (pid_ > 0 && !reaped_) {
    ::kill(pid_, SIGKILL);
    wait();
  }
  if (pidfd_ >= 0) ::close(pidfd_);
  if (stderr_ >= 0) ::close(stderr_);
}

int PeerProcess::wait() {
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
  return status;
}

std::string PeerProcess::readStderr() {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(stderr_, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  return out;
}

}  // namespace ringserve::transport::testing
