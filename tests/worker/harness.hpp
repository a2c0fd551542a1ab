#pragma once
// A test harness that plays the supervisor for one real `ringserve-worker` process: it creates
// the segment, the lane eventfds and the control socketpair, fork+execs the worker, reads its
// hello, sends control messages and writes InferRequest frames into its lanes exactly as the
// supervisor does. Blocking and single-threaded on purpose; waits have a generous upper bound
// (so a broken worker fails the test instead of hanging it), never a timed expectation.
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "transport/endpoint.hpp"
#include "transport/frame.hpp"
#include "transport/segment.hpp"
#include "worker.capnp.h"

namespace ringserve::testing {

struct HarnessOptions {
  std::string workerBinary;           // default: the build's ringserve-worker
  std::uint32_t lanes = 1;
  std::uint64_t shmSize = 16ULL << 20;
  bool seqpacket = true;              // control channel type (the worker handles both)
  std::uint64_t heartbeatMs = 0;      // 0: no unsolicited heartbeats
  std::uint64_t spinUs = 5;
  bool corruptMagic = false;          // scribble on the header before starting the worker
  std::vector<std::string> extraArgs;
};

struct TensorData {
  std::string name;
  schema::DataType datatype = schema::DataType::FP32;
  std::vector<std::int64_t> shape;
  std::vector<std::byte> data;
  std::string parametersJson;
  std::uint64_t offset = 0;  // outputs: where the worker put it (from the segment start)
};

// A BYTES payload: u32 LE length + bytes per element.
std::vector<std::byte> bytesPayload(const std::vector<std::string>& elements);
template <class T>
std::vector<std::byte> rawPayload(const std::vector<T>& values) {
  std::vector<std::byte> out(values.size() * sizeof(T));
  if (!out.empty()) __builtin_memcpy(out.data(), values.data(), out.size());
  return out;
}

struct InferOutcome {
  bool ok = false;
  schema::ErrorCode code = schema::ErrorCode::INTERNAL;
  std::string message;                // error message
  std::uint32_t descriptorError = 0;  // transport::DescriptorError when no frame came back
  std::string modelName, modelVersion, id, parametersJson;
  std::vector<TensorData> outputs;    // copied out of the response arena
  const TensorData* output(const std::string& name) const;
};

struct ModelArgs {
  std::uint32_t handle = 1;
  std::string name = "m";
  std::string version;
  std::string implementation;
  std::string settingsJson = "{}";
  std::string modelDir;
  std::vector<std::string> searchPath;  // default: the test runtime folder, then the built-in one
};

struct ControlOutcome {
  bool ok = false;
  schema::ErrorCode code = schema::ErrorCode::INTERNAL;
  std::string message;
  std::vector<std::string> inputNames, outputNames;  // loadModel
};

class WorkerHarness {
 public:
  explicit WorkerHarness(HarnessOptions options = {});
  ~WorkerHarness();  // SIGKILLs and reaps the worker if it still runs
  WorkerHarness(const WorkerHarness&) = delete;
  WorkerHarness& operator=(const WorkerHarness&) = delete;

  pid_t pid() const { return pid_; }
  // The worker's first frame (read by the constructor).
  const schema::Hello::Reader& hello() const { return hello_; }

  // --- control channel ---
  std::uint64_t sendLoad(const ModelArgs& m);
  std::uint64_t sendUnload(std::uint32_t handle);
  std::uint64_t sendHeartbeat();
  void sendShutdown();
  // Closes our end of the control channel.
  void closeControl();
  // The next reply with `id` (frames with other ids are kept for later calls); nullopt if the
  // channel closed or nothing came for a long time.
  std::optional<transport::OwnedFrame> awaitReply(std::uint64_t id);
  ControlOutcome load(const ModelArgs& m);
  ControlOutcome unload(std::uint32_t handle);
  static ControlOutcome outcomeOf(transport::OwnedFrame& frame);

  // --- inference ---
  // Writes the request into lane `lane` and posts it; returns its tag.
  std::uint64_t post(std::uint32_t handle, const std::vector<TensorData>& inputs, const std::string& parametersJson = "",
                     const std::vector<std::string>& requestedOutputs = {}, std::uint32_t lane = 0, std::string id = "req");
  void flush(std::uint32_t lane = 0);
  // Segment offsets of the inputs of the last post(), in input order.
  const std::vector<std::uint64_t>& lastInputOffsets() const { return lastInputOffsets_; }
  // The next response on `lane`: decoded, request blocks freed, and released unless `release` is false.
  InferOutcome awaitResponse(std::uint32_t lane = 0, bool release = true, std::uint64_t* tag = nullptr);
  void releaseTag(std::uint64_t tag, std::uint32_t lane = 0);
  InferOutcome infer(std::uint32_t handle, const std::vector<TensorData>& inputs, const std::string& parametersJson = "",
                     const std::vector<std::string>& requestedOutputs = {}, std::uint32_t lane = 0);

  // Waits for the worker to exit; the raw wait status (WIFEXITED/WIFSIGNALED apply).
  int waitExit();
  // "exited with status 0", "killed by signal 11 (Segmentation fault)"
  static std::string describe(int status);
  transport::Segment& segment() { return segment_; }
  transport::SupervisorLane& lane(std::uint32_t k) { return *lanes_[k]; }

 private:
  std::optional<transport::OwnedFrame> readFrame(int timeoutMs);

  HarnessOptions options_;
  transport::Segment segment_;
  std::vector<int> eventFds_;
  std::vector<std::unique_ptr<transport::SupervisorLane>> lanes_;
  int controlFd_ = -1;
  pid_t pid_ = -1;
  bool reaped_ = false;
  std::uint64_t nextId_ = 1;
  std::uint64_t nextTag_ = 1;
  transport::StreamFrameDecoder decoder_{transport::kMaxControlFrame};
  std::vector<transport::OwnedFrame> stash_;
  std::vector<std::uint64_t> lastInputOffsets_;
  std::optional<transport::OwnedFrame> helloFrame_;
  schema::Hello::Reader hello_;
  // request blocks per (lane, tag), freed when the response arrives
  std::vector<std::vector<std::pair<std::uint64_t, std::vector<std::uint64_t>>>> requestBlocks_;
};

// Paths the build passes in.
std::string workerBinaryPath();
std::string testRuntimeDir();
std::string builtinRuntimeDir();

}  // namespace ringserve::testing
