#pragma once
// What the control channel carries, as plain structs: the capnp readers never leave
// worker_codec.cpp, so callers can keep these as long as they like.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "schema/version.hpp"

namespace ringserve::supervisor {

// The accepted handshake.
struct WorkerHello {
  ProtocolVersion protocol;
  Compatibility compatibility = Compatibility::supported;  // supported or untested
  std::uint32_t shmLayoutVersion = 0;
  std::string workerVersion;
  std::uint32_t pid = 0;
  std::uint16_t sdkAbiMajor = 0;
  std::uint16_t sdkAbiMinor = 0;
};

// schema::ModelSpec.
struct ModelLoadSpec {
  std::uint32_t handle = 0;   // unique for the server's lifetime; a reload gets a new one
  std::string name;
  std::string version;
  std::string implementation;  // "<module>.<Class>"
  std::string settingsJson;
  std::string modelDir;
  std::vector<std::string> runtimeSearchPath;
};

struct TensorInfo {
  std::string name;
  std::string datatype;  // "FP32"
  std::vector<std::int64_t> shape;
  std::string contentType;
};

// schema::ModelLoaded.
struct LoadedModel {
  std::uint32_t handle = 0;
  std::vector<TensorInfo> inputs;
  std::vector<TensorInfo> outputs;
};

struct MetricSample {
  enum class Kind { counter, gauge, histogram };
  std::string name;
  std::string help;
  Kind kind = Kind::counter;
  std::string modelName;
  std::string modelVersion;
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;          // counter/gauge value; histogram sum
  std::uint64_t count = 0;   // histogram observations
  std::vector<double> bucketBounds;
  std::vector<std::uint64_t> bucketCounts;  // cumulative, one per bound
};

// schema::Heartbeat.
struct WorkerHeartbeat {
  std::uint64_t served = 0;
  std::uint64_t rssBytes = 0;
  std::vector<MetricSample> metrics;
};

// How a worker ended; delivered once by WorkerProcess's onExit.
struct WorkerExit {
  // Human text for 503s, logs and model reasons: "killed by signal 9 (SIGKILL)", "exited with
  // status 1", or for a startup failure what went wrong ("no handshake within 10 s", the worker's
  // refusal, the protocol mismatch message).
  std::string reason;
  int exitStatus = -1;   // exit status, or -1 if killed by a signal
  int signal = 0;        // terminating signal, or 0
  bool beforeReady = false;  // it never completed the handshake
  bool requested = false;    // stop() or kill() was asked for (not a crash)
  bool incompatible = false; // refused at handshake: restarting the same binary cannot help
};

}  // namespace ringserve::supervisor
