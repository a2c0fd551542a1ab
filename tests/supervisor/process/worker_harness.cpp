#include "worker_harness.hpp"

#include <dirent.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

namespace ringserve::supervisor::test {

Loop::Loop() : base_(event_base_new()) {}
Loop::~Loop() { event_base_free(base_); }

bool Loop::runUntil(const std::function<bool()>& done) {
  bool expired = false;
  event* guard = evtimer_new(base_, [](evutil_socket_t, short, void* p) { *static_cast<bool*>(p) = true; }, &expired);
  const timeval tv{60, 0};
  evtimer_add(guard, &tv);
  while (!done() && !expired) event_base_loop(base_, EVLOOP_ONCE);
  event_free(guard);
  return done();
}

WorkerEvents Recorder::events() {
  WorkerEvents e;
  e.onReady = [this](const WorkerHello& h) { ready = h; };
  e.onExit = [this](const WorkerExit& x) {
    exit = x;
    ++exitCalls;
  };
  e.onHeartbeat = [this](const WorkerHeartbeat& h) { heartbeats.push_back(h); };
  return e;
}

WorkerLaunch fakeLaunch(const std::string& mode, std::uint32_t lanes) {
  WorkerLaunch l;
  l.executable = RINGSERVE_FAKE_WORKER;
  l.workerId = "default/0";
  l.poolLabel = "environment sha256:ab12";
  l.segment = transport::SegmentConfig::fromShmSize(1 << 20, lanes, 16);
  l.extraArgs = {"--mode", mode};
  return l;
}

int countSegmentFds() {
  int n = 0;
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return -1;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    char target[PATH_MAX];
    const std::string link = std::string("/proc/self/fd/") + e->d_name;
    const ssize_t len = ::readlink(link.c_str(), target, sizeof target - 1);
    if (len > 0 && std::string(target, static_cast<std::size_t>(len)).rfind("/memfd:ringserve:", 0) == 0) ++n;
  }
  ::closedir(d);
  return n;
}

bool fullyReaped(int pid) {
  int status = 0;
  return ::waitpid(pid, &status, WNOHANG) < 0 && errno == ECHILD;
}

}  // namespace ringserve::supervisor::test
