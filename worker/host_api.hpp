#pragma once
// The worker's side of the plugin C ABI: the definitions of the opaque `ringserve_call` and
// `ringserve_host_model`, and the host function table handed to every plugin.
#include <cstdint>
#include <string>
#include <vector>

#include "ringserve/abi.h"
#include "worker/metric_store.hpp"
#include "worker/output_sink.hpp"

namespace ringserve::worker {

struct ReportedTensor {
  std::string name, datatype, contentType;
  std::vector<std::int64_t> shape;
};

// The host table (static storage: outlives every plugin).
const ringserve_host* hostTable();

}  // namespace ringserve::worker

// One create/load/predict/unload/metadata call. Lives on the calling thread's stack.
struct ringserve_call {
  std::int32_t errorCode = RINGSERVE_OK;
  std::string errorMessage;
  ringserve::worker::OutputSink* outputs = nullptr;  // predict only
  std::string responseParameters;                    // predict only
  std::vector<ringserve::worker::ReportedTensor> reportedInputs, reportedOutputs;  // metadata only
};

// A loaded model as plugins refer to it (logs, metrics). Owned by LoadedModel; lives from before
// create until after destroy.
struct ringserve_host_model {
  std::string name;
  std::string version;
  std::string label;  // "name" or "name:version", for log lines
  ringserve::worker::MetricStore* metrics = nullptr;
};
