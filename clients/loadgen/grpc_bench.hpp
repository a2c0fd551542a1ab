#pragma once
// `bench --protocol grpc`'s measured run: each thread keeps its share of `concurrency`
// ModelInfer calls outstanding on its own channel and CompletionQueue (closed loop), or sends at
// fixed intervals with latency from the scheduled time (open loop, --rate), and records into the
// same RunResult as the REST run (bench_run.hpp), so the report, CSV and SVG are the same code.
// Failed calls are counted by gRPC code name ("NOT_FOUND"), or "timeout" / "connection error".
#include <functional>
#include <string>

#include "clients/loadgen/bench_run.hpp"
#include "clients/loadgen/request_body.hpp"

namespace ringserve::loadgen {

struct GrpcRunSpec {
  std::string target;   // host:port
  std::string request;  // a serialized ModelInferRequest
  HeaderList metadata;
  unsigned concurrency = 1;
  unsigned threads = 1;
  double rate = 0;  // requests/s; 0 = closed loop
  double durationS = 10;
  std::uint64_t requests = 0;  // measured requests; 0 = use durationS
  double warmupS = 0;
  double timeoutS = 30;  // each call's deadline
};

RunResult runGrpcBench(const GrpcRunSpec& spec,
                       const std::function<void(double elapsed, std::uint64_t ok, std::uint64_t errors)>& progress);

}  // namespace ringserve::loadgen
