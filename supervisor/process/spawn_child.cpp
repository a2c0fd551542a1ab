#include "supervisor/process/spawn_child.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <iterator>
#include <map>

extern char** environ;

namespace ringserve::supervisor::detail {

namespace {

// What the child writes to the exec-status pipe when a step fails.
struct ChildFailure {
  int stage;  // index into kStages
  int error;  // errno
};
constexpr const char* kStages[] = {"dup2", "close_range", "sched_setaffinity", "sigprocmask", "exec"};

std::string substituteFds(std::string arg, std::size_t inheritCount) {
  for (std::size_t i = 0; i < inheritCount; ++i) {
    const std::string key = "{fd" + std::to_string(i) + "}";
    const std::string value = std::to_string(3 + i);
    for (auto pos = arg.find(key); pos != std::string::npos; pos = arg.find(key, pos + value.size()))
      arg.replace(pos, key.size(), value);
  }
  return arg;
}

// Only async-signal-safe calls from here to exec: the parent may have other threads, and one of
// them may hold a lock (malloc's, spdlog's) that will never be released in the child.
[[noreturn]] void childMain(const std::vector<int>& highFds, int statusFd, const cpu_set_t* cpus,
                            const char* path, char* const* argv, char* const* envp) {
  auto fail = [statusFd](int stage) {
    const ChildFailure f{stage, errno};
    [[maybe_unused]] ssize_t n = ::write(statusFd, &f, sizeof f);
    ::_exit(127);
  };
  // Sources are all >= 3 + n, so no dup2 here overwrites a source still to be moved.
  for (std::size_t i = 0; i < highFds.size(); ++i)
    if (::dup2(highFds[i], static_cast<int>(3 + i)) < 0) fail(0);  // dup2 clears CLOEXEC
  const unsigned first = static_cast<unsigned>(3 + highFds.size());
  if (static_cast<unsigned>(statusFd) > first && ::close_range(first, static_cast<unsigned>(statusFd) - 1, 0) != 0)
    fail(1);
  if (::close_range(static_cast<unsigned>(statusFd) + 1, UINT_MAX, 0) != 0) fail(1);
  if (cpus != nullptr && ::sched_setaffinity(0, sizeof(cpu_set_t), cpus) != 0) fail(2);
  // Ignored signals survive exec (a supervisor ignoring SIGPIPE would pass that on); handlers do not.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; ++s) ::sigaction(s, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  if (::sigprocmask(SIG_SETMASK, &none, nullptr) != 0) fail(3);
  ::execve(path, argv, envp);
  fail(4);
  ::_exit(127);
}

}  // namespace

SpawnResult spawnChild(const ChildSpec& spec) {
  SpawnResult result;
  const int n = static_cast<int>(spec.inherit.size());

  // Everything the child needs is built before fork: it may not allocate.
  std::vector<std::string> args;
  args.push_back(spec.executable);
  for (const auto& a : spec.args) args.push_back(substituteFds(a, spec.inherit.size()));
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const char* eq = std::strchr(*e, '=');
    if (eq != nullptr) env.emplace(std::string(*e, static_cast<std::size_t>(eq - *e)), std::string(eq + 1));
  }
  for (const auto& [k, v] : spec.extraEnv) env[k] = v;
  std::vector<std::string> envStrings;
  for (const auto& [k, v] : env) envStrings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : envStrings) envp.push_back(e.data());
  envp.push_back(nullptr);

  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  if (spec.cpu) {
    if (*spec.cpu < 0 || *spec.cpu >= CPU_SETSIZE) {
      result.error = "CPU " + std::to_string(*spec.cpu) + " does not exist";
      return result;
    }
    CPU_SET(*spec.cpu, &cpus);
  }

  // Copies of the fds above the child's target numbers 3..3+n-1 (CLOEXEC: the child's dup2 makes
  // the inheritable ones), and the exec-status pipe above them too.
  std::vector<int> highFds;
  int pipeFds[2] = {-1, -1};
  auto cleanup = [&] {
    for (int fd : highFds) ::close(fd);
    if (pipeFds[0] >= 0) ::close(pipeFds[0]);
    if (pipeFds[1] >= 0) ::close(pipeFds[1]);
  };
  for (int fd : spec.inherit) {
    const int hi = ::fcntl(fd, F_DUPFD_CLOEXEC, 3 + n);
    if (hi < 0) {
      result.sysErrno = errno;
      result.error = std::string("duplicating an fd for the worker: ") + std::strerror(result.sysErrno);
      cleanup();
      return result;
    }
    highFds.push_back(hi);
  }
  int rawPipe[2];
  if (::pipe2(rawPipe, O_CLOEXEC) != 0) {
    result.sysErrno = errno;
    result.error = std::string("pipe2: ") + std::strerror(result.sysErrno);
    cleanup();
    return result;
  }
  pipeFds[0] = rawPipe[0];
  pipeFds[1] = ::fcntl(rawPipe[1], F_DUPFD_CLOEXEC, 3 + n);
  ::close(rawPipe[1]);
  if (pipeFds[1] < 0) {
    result.sysErrno = errno;
    result.error = std::string("duplicating the exec-status pipe: ") + std::strerror(result.sysErrno);
    cleanup();
    return result;
  }

  const pid_t pid = ::fork();
  if (pid < 0) {
    result.sysErrno = errno;
    result.error = std::string("fork: ") + std::strerror(result.sysErrno);
    cleanup();
    return result;
  }
  if (pid == 0) childMain(highFds, pipeFds[1], spec.cpu ? &cpus : nullptr, spec.executable.c_str(), argv.data(), envp.data());

  ::close(pipeFds[1]);
  pipeFds[1] = -1;
  ChildFailure f{};
  ssize_t got;
  do {
    got = ::read(pipeFds[0], &f, sizeof f);
  } while (got < 0 && errno == EINTR);
  cleanup();
  if (got == 0) {  // EOF: the pipe closed on a successful exec
    result.pid = pid;
    return result;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (got != static_cast<ssize_t>(sizeof f) || f.stage < 0 || f.stage >= static_cast<int>(std::size(kStages))) {
    result.error = "the child failed before exec";
  } else if (f.stage == 4) {
    result.sysErrno = f.error;
    result.error = "exec " + spec.executable + ": " + std::strerror(f.error);
  } else {
    result.sysErrno = f.error;
    result.error = std::string(kStages[f.stage]) + " in the child: " + std::strerror(f.error);
  }
  return result;
}

}  // namespace ringserve::supervisor::detail
