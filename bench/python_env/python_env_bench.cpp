// Worker start to ready for a Python environment, the way the supervisor does it (prepareTarball,
// the pool's variables from workerPythonEnvironment, WorkerProcess::spawn, LoadModel of a Python
// echo runtime), beside the C++ echo worker in the same run (runs alternate):
//   cold:           a fresh environments_dir: hash + unpack the tarball, first compile of every .py
//   warm:           the cached unpack and its PYTHONPYCACHEPREFIX (a restart, a respawned worker)
//   warm, no .pyc:  the cached unpack with an empty pycache prefix each time (every .py compiled
//                   on every start: what a read-only unpack without a pycache prefix costs)
// Prints medians; asserts nothing.
//   build/release/bin/python_env_bench --python ~/.pyenv/versions/3.12.1 [--runs 10]
#include <event2/event.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "supervisor/environments/environment.hpp"
#include "clients/pack_env/pack_env.hpp"
#include "supervisor/process/worker_process.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using namespace ringserve::supervisor;
namespace env = ringserve::supervisor::environments;
namespace fs = std::filesystem;

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}
double lowest(const std::vector<double>& v) { return v.empty() ? 0 : *std::min_element(v.begin(), v.end()); }
double highest(const std::vector<double>& v) { return v.empty() ? 0 : *std::max_element(v.begin(), v.end()); }

struct Start {
  std::string implementation;
  std::string modelDir;
  std::vector<std::string> searchPath;
  std::vector<std::pair<std::string, std::string>> extraEnv;
};

// spawn -> model loaded, in ms; nullopt (and why on stderr) when it fails.
std::optional<double> startWorker(event_base* base, const Start& s, std::uint32_t handle) {
  WorkerLaunch l;
  l.executable = RINGSERVE_WORKER_BINARY;
  l.workerId = "bench/0";
  l.poolLabel = "bench";
  l.segment = ringserve::transport::SegmentConfig::fromShmSize(64 << 20, 1, 64);
  l.logLevel = "warn";
  l.extraEnv = s.extraEnv;
  bool ready = false, exited = false;
  std::optional<bool> loaded;
  double t = 0;
  const auto t0 = Clock::now();
  WorkerEvents ev;
  ev.onReady = [&](const WorkerHello&) { ready = true; };
  ev.onExit = [&](const WorkerExit& e) {
    exited = true;
    if (!ready) std::fprintf(stderr, "worker exited: %s\n", e.reason.c_str());
  };
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
  spec.implementation = s.implementation;
  spec.settingsJson = R"({"name":"echo","implementation":")" + s.implementation + "\"}";
  spec.modelDir = s.modelDir;
  spec.runtimeSearchPath = s.searchPath;
  (*w)->loadModel(spec, [&](Expected<LoadedModel> r) {
    loaded = r.ok();
    if (!r.ok()) std::fprintf(stderr, "load: %s\n", r.error().message.c_str());
    t = ms(Clock::now() - t0);
  });
  runUntil([&] { return loaded.has_value() || exited; });
  if (!loaded.value_or(false)) return std::nullopt;
  (*w)->stop(std::chrono::milliseconds(2000));
  runUntil([&] { return exited; });
  return t;
}

// Prepare (timed) + worker start for the Python echo in the environment of `tarball`.
std::optional<std::pair<double, double>> startPython(event_base* base, const fs::path& tarball, const fs::path& envs,
                                                     const std::optional<fs::path>& pycache, std::uint32_t handle) {
  const auto t0 = Clock::now();
  auto e = env::prepareTarball(tarball, envs);
  if (!e) {
    std::fprintf(stderr, "prepare: %s\n", e.error().message.c_str());
    return std::nullopt;
  }
  e->pycachePrefix = pycache ? *pycache : envs / ".pycache" / e->root.filename();
  const double prepared = ms(Clock::now() - t0);
  Start s;
  s.implementation = "py_echo.EchoModel";
  s.modelDir = PY_ECHO_DIR;
  s.searchPath = {PY_ECHO_DIR, e->libDir.string(), RINGSERVE_RUNTIME_DIR};
  s.extraEnv.push_back({"LD_LIBRARY_PATH", env::workerLibraryPath(*e, std::getenv("LD_LIBRARY_PATH"))});
  for (auto& kv : env::workerPythonEnvironment(*e, std::getenv("PATH"))) s.extraEnv.push_back(kv);
  auto started = startWorker(base, s, handle);
  if (!started) return std::nullopt;
  return std::pair{prepared, *started};
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 10;
  std::string python;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--runs") == 0) runs = std::max(1, std::atoi(argv[i + 1]));
    else if (std::strcmp(argv[i], "--python") == 0) python = argv[i + 1];
  }
  if (python.empty()) {
    std::fprintf(stderr, "usage: python_env_bench --python PREFIX [--runs N]\n");
    return 2;
  }
  spdlog::set_level(spdlog::level::warn);
  // Workers inherit this process's environment: with PYTHONDONTWRITEBYTECODE set (some shells and
  // CI set it) no .pyc is ever written into the pycache prefix and "warm" would compile every .py
  // on every start, as the no-.pyc row does on purpose.
  if (std::getenv("PYTHONDONTWRITEBYTECODE") != nullptr) {
    std::printf("PYTHONDONTWRITEBYTECODE is set here; unset for the workers (warm = cached .pyc)\n");
    ::unsetenv("PYTHONDONTWRITEBYTECODE");
  }
  const fs::path tmp = fs::temp_directory_path() / ("python_env_bench-" + std::to_string(::getpid()));
  fs::create_directories(tmp);
  env::PackOptions o;
  o.python = python;
  o.output = tmp / "py.tar.gz";
  auto packed = env::packEnvironment(o);
  if (!packed) {
    std::fprintf(stderr, "pack-env: %s\n", packed.error().message.c_str());
    return 1;
  }
  std::printf("environment: Python %s, %.1f MiB packed (%.1f MiB of files)\n", packed->python->version.text().c_str(),
              static_cast<double>(packed->tarballBytes) / (1 << 20), static_cast<double>(packed->inputBytes) / (1 << 20));

  event_base* base = event_base_new();
  Start cpp;
  cpp.implementation = "echo.EchoRuntime";
  cpp.modelDir = RINGSERVE_ECHO_DIR;
  cpp.searchPath = {RINGSERVE_ECHO_DIR};
  std::vector<double> echo, coldPrep, coldStart, warmPrep, warmStart, nopycStart;
  const fs::path warmEnvs = tmp / "warm";
  if (!startPython(base, o.output, warmEnvs, std::nullopt, 1)) return 1;  // fills the warm cache
  std::uint32_t handle = 2;
  for (int i = 0; i < runs; ++i) {
    auto e = startWorker(base, cpp, handle++);
    auto cold = startPython(base, o.output, tmp / ("cold-" + std::to_string(i)), std::nullopt, handle++);
    auto warm = startPython(base, o.output, warmEnvs, std::nullopt, handle++);
    const fs::path empty = tmp / ("nopyc-" + std::to_string(i));
    auto nopyc = startPython(base, o.output, warmEnvs, empty, handle++);
    if (!e || !cold || !warm || !nopyc) return 1;
    echo.push_back(*e);
    coldPrep.push_back(cold->first);
    coldStart.push_back(cold->second);
    warmPrep.push_back(warm->first);
    warmStart.push_back(warm->second);
    nopycStart.push_back(nopyc->second);
    fs::remove_all(tmp / ("cold-" + std::to_string(i)));
    fs::remove_all(empty);
  }
  event_base_free(base);
  fs::remove_all(tmp);
  const double b = median(echo);
  std::vector<double> coldTotal, warmTotal, nopycTotal;
  for (std::size_t i = 0; i < echo.size(); ++i) {
    coldTotal.push_back(coldPrep[i] + coldStart[i]);
    warmTotal.push_back(warmPrep[i] + warmStart[i]);
    nopycTotal.push_back(warmPrep[i] + nopycStart[i]);
  }
  std::printf("worker start to ready, medians of %d alternating runs       prepare ms  start ms  total ms  vs C++ echo"
              "  total min-max ms\n",
              runs);
  std::printf("C++ echo worker (baseline)                                  %10s %9.1f %9.1f     1.00x  %7.1f-%.1f\n", "-",
              b, b, lowest(echo), highest(echo));
  auto row = [&](const char* what, double prep, double start, const std::vector<double>& total) {
    std::printf("%-59s %10.1f %9.1f %9.1f  %8.2fx  %7.1f-%.1f\n", what, prep, start, median(total), median(total) / b,
                lowest(total), highest(total));
  };
  row("Python env, cold (unpack + first .pyc compile)", median(coldPrep), median(coldStart), coldTotal);
  row("Python env, warm (cached unpack and .pyc)", median(warmPrep), median(warmStart), warmTotal);
  row("Python env, cached unpack, no .pyc (compiled every start)", median(warmPrep), median(nopycStart), nopycTotal);
  return 0;
}
