// Not a test: measures request round trips through a real worker (echo runtime) as the harness
// sees them, one request in flight, and prints numbers. Run by hand:
//   build/<preset>/bin/worker_roundtrip_measure [iterations]
// Each round trip includes what the harness does as supervisor: encode the frame and copy the
// input into the lane arena, post + flush, sleep on the lane eventfd, decode, copy the output out,
// release. Compare with a bare futex/eventfd ping-pong measured on the same machine.
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "harness.hpp"

using namespace ringserve::testing;

int main(int argc, char** argv) {
  // Keep the harness's 1 MiB copy-out buffers on the heap: fresh mmap'd buffers fault in every
  // page each time, which measures this program's malloc, not the worker.
  ::mallopt(M_MMAP_THRESHOLD, 256 << 20);
  ::mallopt(M_TRIM_THRESHOLD, 512 << 20);
  const int iterations = argc > 1 ? std::atoi(argv[1]) : 20000;
  for (const std::uint64_t spin : {0ULL, 20ULL}) {
    for (const std::size_t bytes : {std::size_t{64}, std::size_t{64} << 10, std::size_t{1} << 20}) {
      HarnessOptions o;
      o.spinUs = spin;
      o.shmSize = 64ULL << 20;
      WorkerHarness w(o);
      ModelArgs m;
      m.implementation = "echo.EchoRuntime";
      if (!w.load(m).ok) return 1;
      const TensorData in{"x", ringserve::schema::DataType::UINT8, {static_cast<std::int64_t>(bytes)},
                          std::vector<std::byte>(bytes), ""};
      const int n = bytes >= (1u << 20) ? iterations / 20 : iterations;
      std::vector<double> us;
      us.reserve(static_cast<std::size_t>(n));
      for (int i = 0; i < n + 100; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        const auto r = w.infer(1, {in});
        const auto t1 = std::chrono::steady_clock::now();
        if (!r.ok) return 1;
        if (i >= 100) us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
      }
      std::sort(us.begin(), us.end());
      double total = 0;
      for (const double v : us) total += v;
      // Baseline, same conditions: the three copies the round trip makes (harness into the arena,
      // echo input to output, harness out of the arena), in one process, no IPC.
      std::vector<std::byte> a(bytes), b(bytes);
      std::vector<double> base;
      for (int i = 0; i < n; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        std::memcpy(a.data(), in.data.data(), bytes);
        std::memcpy(b.data(), a.data(), bytes);
        std::vector<std::byte> out(b.begin(), b.end());
        const auto t1 = std::chrono::steady_clock::now();
        base.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count() + (out.empty() ? 1 : 0));
      }
      std::sort(base.begin(), base.end());
      std::printf("spin %2llu us  payload %8zu B  n %6d  p50 %8.1f us  p99 %8.1f us  %9.0f req/s   3 copies alone: p50 %7.1f us\n",
                  static_cast<unsigned long long>(spin), bytes, n, us[us.size() / 2], us[us.size() * 99 / 100],
                  1e6 * static_cast<double>(us.size()) / total, base[base.size() / 2]);
    }
  }
  return 0;
}
