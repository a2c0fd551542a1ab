// Not a test: the per-request cost the Python host adds, bypassing HTTP. One real worker holds
// the C++ echo (examples/runtimes/echo) and the Python echo (examples/models/echo-py, MLServer's
// echo runtime run by the real mlserver package); FP32 [1,16] and [1,65536] go through both,
// one request in flight, alternating in blocks so both see the same machine load.
//   build/release/bin/python_host_measure [iterations]
// Prints p50/p99 per runtime and the p50 difference: the µs Python adds per request (decode of
// the request into mlserver types, predict, encode, one copy into the response arena).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

#include "harness.hpp"

using namespace ringserve::testing;

namespace {

struct Stats {
  std::vector<double> us;
  double p(double q) {
    std::sort(us.begin(), us.end());
    return us[static_cast<std::size_t>(q * static_cast<double>(us.size() - 1))];
  }
};

bool timeBlock(WorkerHarness& w, std::uint32_t handle, const TensorData& in, int n, Stats& s) {
  for (int i = 0; i < n; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = w.infer(handle, {in});
    const auto t1 = std::chrono::steady_clock::now();
    if (!r.ok) {
      std::fprintf(stderr, "handle %u: %s\n", handle, r.message.c_str());
      return false;
    }
    s.us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const int iterations = argc > 1 ? std::atoi(argv[1]) : 4000;
  ::setenv("PYTHONDONTWRITEBYTECODE", "1", 1);
  HarnessOptions o;
  o.shmSize = 64ULL << 20;
  WorkerHarness w(o);
  ModelArgs cpp;
  cpp.handle = 1;
  cpp.name = "echo";
  cpp.implementation = "echo.EchoRuntime";
  ModelArgs py;
  py.handle = 2;
  py.name = "echo-py";
  py.implementation = "echo_runtime.EchoModel";
  py.modelDir = std::string(RINGSERVE_EXAMPLE_MODELS) + "/echo-py";
  py.settingsJson = R"({"name": "echo-py", "implementation": "echo_runtime.EchoModel"})";
  py.searchPath = {py.modelDir, builtinRuntimeDir()};
  for (const ModelArgs* m : {&cpp, &py})
    if (const auto l = w.load(*m); !l.ok) {
      std::fprintf(stderr, "%s: %s\n", m->implementation.c_str(), l.message.c_str());
      return 1;
    }
  std::printf("| payload | C++ echo p50 | p99 | Python echo p50 | p99 | Python adds (p50) |\n|---|---|---|---|---|---|\n");
  for (const std::int64_t elements : {std::int64_t{16}, std::int64_t{65536}}) {
    const TensorData in{"input0", ringserve::schema::DataType::FP32, {1, elements},
                        std::vector<std::byte>(static_cast<std::size_t>(elements) * 4), ""};
    const int n = elements > 16 ? iterations / 8 : iterations;
    Stats c, p;
    if (!timeBlock(w, 1, in, 50, c) || !timeBlock(w, 2, in, 50, p)) return 1;  // warm-up
    c.us.clear();
    p.us.clear();
    for (int block = 0; block < 10; ++block)
      if (!timeBlock(w, 1, in, n / 10, c) || !timeBlock(w, 2, in, n / 10, p)) return 1;
    const double cp50 = c.p(0.5), pp50 = p.p(0.5);
    std::printf("| FP32 [1,%lld] | %.1f µs | %.1f µs | %.1f µs | %.1f µs | %.1f µs |\n",
                static_cast<long long>(elements), cp50, c.p(0.99), pp50, p.p(0.99), pp50 - cp50);
  }
  return 0;
}
