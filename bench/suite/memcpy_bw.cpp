// suite_memcpy_bw: single-thread memcpy bandwidth for one buffer size, the suite's same-run
// baseline for moving a large tensor (GB/s = bytes copied per second, 1 GB = 1e9 B; each byte is
// read once and written once, as ../shared/limits/src/memcpy_bw.cpp counts it).
// Usage: suite_memcpy_bw [--bytes N] [--reps R] [--seconds-per-rep S]
// Prints one line: `memcpy_gbps <median> <min> <max> bytes=<N> reps=<R>`.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

namespace {

double argOr(int argc, char** argv, std::string_view name, double fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (name == argv[i]) return std::strtod(argv[i + 1], nullptr);
  return fallback;
}

double seconds(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace

int main(int argc, char** argv) {
  const auto bytes = static_cast<std::size_t>(argOr(argc, argv, "--bytes", 4 << 20));
  const int reps = std::max(1, static_cast<int>(argOr(argc, argv, "--reps", 5)));
  const double perRep = argOr(argc, argv, "--seconds-per-rep", 0.2);
  if (bytes == 0 || bytes % 64 != 0) {
    std::fprintf(stderr, "suite_memcpy_bw: --bytes must be a positive multiple of 64\n");
    return 2;
  }
  // Page-aligned like an arena block; both buffers written first so no page faults are timed.
  auto* src = static_cast<char*>(std::aligned_alloc(4096, bytes));
  auto* dst = static_cast<char*>(std::aligned_alloc(4096, bytes));
  if (src == nullptr || dst == nullptr) {
    std::fprintf(stderr, "suite_memcpy_bw: out of memory\n");
    return 2;
  }
  std::memset(src, 1, bytes);
  std::memset(dst, 2, bytes);
  auto copyOnce = [&] {
    std::memcpy(dst, src, bytes);
    asm volatile("" : : "r"(dst), "r"(src) : "memory");  // keep every copy
  };
  // Calibrate the copies per rep so that a rep lasts about perRep seconds.
  long iters = 1;
  for (;;) {
    const auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < iters; ++i) copyOnce();
    const double s = seconds(t0, std::chrono::steady_clock::now());
    if (s >= perRep / 4 || iters > (1L << 30)) {
      iters = std::max(1L, static_cast<long>(static_cast<double>(iters) * perRep / std::max(s, 1e-9)));
      break;
    }
    iters *= 4;
  }
  std::vector<double> gbps;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < iters; ++i) copyOnce();
    const double s = seconds(t0, std::chrono::steady_clock::now());
    gbps.push_back(static_cast<double>(bytes) * static_cast<double>(iters) / s / 1e9);
  }
  std::sort(gbps.begin(), gbps.end());
  std::printf("memcpy_gbps %.2f %.2f %.2f bytes=%zu reps=%d\n", gbps[gbps.size() / 2], gbps.front(), gbps.back(),
              bytes, reps);
  std::free(src);
  std::free(dst);
  return 0;
}
