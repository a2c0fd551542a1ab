#include <benchmark/benchmark.h>

#include "registry.hpp"

int main(int argc, char** argv) {
  ringserve::bench::registerRoundTrip();
  ringserve::bench::registerStream();
  ringserve::bench::registerPayload();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
