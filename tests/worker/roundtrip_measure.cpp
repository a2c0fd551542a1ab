// Not a test: measures request round trips through a real worker (echo runtime) as the harness
// sees them, one request in flight, and prints numbers. Run by hand:
//   build/<preset>/bin/worker_roundtrip_measure [iterations]
// Each round trip includes what the harness does as supervisor: encode the frame and copy the
// input into the lane arena, post + flush, sleep on the lane eventfd, decode, copy the output out,
// release. Compare with /work/shared/limits/RESULTS.md §2 (a bare futex/eventfd ping-pong).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "harness.hpp"

using namespace ringserve::testing;

int main(int argc, char** argv) {
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
      std::printf("spin %2llu us  payload %8zu B  n %6d  p50 %8.1f us  p99 %8.1f us  %9.0f req/s\n",
                  static_cast<unsigned long long>(spin), bytes, n, us[us.size() / 2], us[us.size() * 99 / 100],
                  1e6 * static_cast<double>(us.size()) / total);
    }
  }
  return 0;
}
