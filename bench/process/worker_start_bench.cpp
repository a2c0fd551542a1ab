// Worker start to ready, measured the way the supervisor starts one (WorkerProcess::spawn on a
// libevent loop): spawn -> handshake accepted -> echo model loaded, beside a bare fork+exec+wait
// of /bin/true in the same run. Prints medians and ratios; asserts nothing.
//   build/release/bin/worker_start_bench [runs]     (default 30)
#include <event2/event.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "supervisor/process/worker_process.hpp"

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;
using namespace ringserve::supervisor;

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double forkExecTrue() {
  const auto t0 = Clock::now();
  pid_t pid = 0;
  char arg0[] = "/bin/true";
  char* argv[] = {arg0, nullptr};
  if (::posix_spawn(&pid, arg0, nullptr, nullptr, argv, environ) != 0) std::abort();
  int st = 0;
  ::waitpid(pid, &st, 0);
  return ms(Clock::now() - t0);
}

struct WorkerTimes {
  double ready = 0;   // spawn -> handshake accepted
  double loaded = 0;  // spawn -> echo model loaded
};

std::optional<WorkerTimes> startWorker(event_base* base, std::uint32_t handle) {
  WorkerLaunch l;
  l.executable = RINGSERVE_WORKER_BINARY;
  l.workerId = "bench/0";
  l.poolLabel = "bench";
  l.segment = ringserve::transport::SegmentConfig::fromShmSize(64 << 20, 1, 64);
  l.logLevel = "warn";
  bool ready = false, exited = false;
  std::optional<bool> loaded;
  WorkerTimes t;
  const auto t0 = Clock::now();
  WorkerEvents ev;
  ev.onReady = [&](const WorkerHello&) {
    ready = true;
    t.ready = ms(Clock::now() - t0);
  };
  ev.onExit = [&](const WorkerExit&) { exited = true; };
  auto w = WorkerProcess::spawn(base, l, ev);
  if (!w.ok()) {
    std::fprintf(stderr, "spawn: %s\n", w.error().message.c_str());
    return std::nullopt;
  }
  auto runUntil = [&](auto done) {
    while (!done()) event_base_loop(base, EVLOOP_ONCE);
  };
  runUntil([&] { return ready || exited; });
  if (!ready) return std::nullopt;
  ModelLoadSpec spec;
  spec.handle = handle;
  spec.name = "echo";
  spec.implementation = "echo.EchoRuntime";
  spec.settingsJson = R"({"name":"echo","implementation":"echo.EchoRuntime"})";
  spec.modelDir = RINGSERVE_ECHO_DIR;
  spec.runtimeSearchPath = {RINGSERVE_ECHO_DIR};
  (*w)->loadModel(spec, [&](Expected<LoadedModel> r) {
    loaded = r.ok();
    if (!r.ok()) std::fprintf(stderr, "load: %s\n", r.error().message.c_str());
    t.loaded = ms(Clock::now() - t0);
  });
  runUntil([&] { return loaded.has_value() || exited; });
  if (!loaded.value_or(false)) return std::nullopt;
  (*w)->stop(std::chrono::milliseconds(2000));
  runUntil([&] { return exited; });
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 30;
  spdlog::set_level(spdlog::level::warn);  // the supervisor's per-worker info lines
  event_base* base = event_base_new();
  std::vector<double> bare, ready, loaded;
  for (int i = 0; i < runs; ++i) {  // alternate so both see the same background load
    bare.push_back(forkExecTrue());
    auto t = startWorker(base, static_cast<std::uint32_t>(i + 1));
    if (!t) return 1;
    ready.push_back(t->ready);
    loaded.push_back(t->loaded);
  }
  event_base_free(base);
  const double b = median(bare);
  std::printf("worker start, medians of %d alternating runs                 ms     vs fork+exec\n", runs);
  std::printf("fork+exec+wait of /bin/true (baseline)                 %8.3f     1.00x\n", b);
  std::printf("ringserve-worker: spawn -> handshake accepted          %8.3f  %8.2fx\n", median(ready),
              median(ready) / b);
  std::printf("ringserve-worker: spawn -> echo model loaded (ready)   %8.3f  %8.2fx\n", median(loaded),
              median(loaded) / b);
  return 0;
}
