#pragma once
// `ringserve infer` (MLServer's `mlserver infer`): V2 requests from a JSON-lines file, sent by N
// concurrent workers (connections) with retries and a timeout, optionally several lines batched
// into one request; responses are written as JSON lines in input order, each carrying
// parameters.batch_index (its input line, 0-based) and parameters.inference_id (the id of the
// request that carried it), as MLServer does. A line that finally fails is written as
// {"id", "parameters": {"batch_index"}, "error": {"status", "msg"}}.
#include <cstdint>
#include <string>
#include <vector>

namespace ringserve::loadgen {

struct InferOptions {
  std::string url = "localhost:8080";
  std::string model;
  std::string modelVersion;
  std::string input;
  std::string output;
  unsigned workers = 10;
  unsigned retries = 3;           // extra attempts after the first, for 502/503/504/429 and transport errors
  double retryBackoff = 0.5;      // seconds before the first retry; doubles each time (max 30 s)
  unsigned batchSize = 1;
  bool binaryData = false;        // binary inputs and outputs
  int verbosity = 0;              // -v: retries and failures; -vv: every request
  std::string transport = "rest";
  std::vector<std::string> headers;
  double timeout = 60;            // per request
  double batchInterval = 0;       // a worker waits this long (seconds) between its requests
  double batchJitter = 0;         // plus up to this much at random
  bool useSsl = false;
  bool insecure = false;
  bool quiet = false;             // no progress bar
};

struct InferSummary {
  std::uint64_t lines = 0;
  std::uint64_t ok = 0;
  std::uint64_t failed = 0;
  std::uint64_t requests = 0;     // HTTP requests sent, retries included
  std::uint64_t retries = 0;
};

// Runs the job; throws LoadgenError for bad options or unreadable/unwritable files.
InferSummary runInfer(const InferOptions& o);

// runInfer plus the summary on stderr; returns the exit status (1 when any line failed).
int runInferCommand(const InferOptions& o);

}  // namespace ringserve::loadgen
