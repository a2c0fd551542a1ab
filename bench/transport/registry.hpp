#pragma once
// Each file registers its benchmarks under readable names ("round_trip/ring/split"); main calls these.
namespace ringserve::bench {
void registerRoundTrip();
void registerStream();
void registerPayload();
}  // namespace ringserve::bench
