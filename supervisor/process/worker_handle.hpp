#pragma once
// The seam between the model manager (core/) and worker processes: what ServerCore asks of one
// running worker (WorkerHandle) and how it gets one (WorkerSpawner). WorkerProcess is the real
// implementation; tests/supervisor/core/ drives ServerCore through a test double of both, so
// ready, death, load refusal, hung loads and crash loops are tested with no process.
//
// Threads: everything runs on the main loop, as WorkerProcess does. The contract is
// WorkerProcess's (worker_process.hpp): `events.onExit` exactly once per handle that spawn()
// returned, after any pending load/unload callback failed; callbacks may destroy the handle;
// destroying a handle calls nothing.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "supervisor/error.hpp"
#include "supervisor/process/worker_launch.hpp"
#include "supervisor/process/worker_messages.hpp"
#include "supervisor/process/worker_shm.hpp"

struct event_base;

namespace ringserve::supervisor {

enum class WorkerState { starting, ready, stopping, exited };
const char* toString(WorkerState s);  // "starting", "ready", "stopping", "exited"

// What the caller wants to hear about. All optional; all called on the main loop.
struct WorkerEvents {
  std::function<void(const WorkerHello&)> onReady;          // handshake accepted
  std::function<void(const WorkerExit&)> onExit;            // exactly once, after reaping
  std::function<void(const WorkerHeartbeat&)> onHeartbeat;  // unsolicited heartbeats
};

// Why a spawn failed. `ownResources`: the supervisor itself ran out of file descriptors, memory
// or processes (EMFILE, ENFILE, ENOMEM, EAGAIN): not the worker's fault, so a restart policy must
// not count it as a crash (ServerCore retries without giving up).
struct SpawnError {
  std::string message;
  bool ownResources = false;
};

class WorkerHandle {
 public:
  using LoadCallback = std::function<void(Expected<LoadedModel>)>;
  using UnloadCallback = std::function<void(Expected<std::uint32_t>)>;  // the unloaded handle

  virtual ~WorkerHandle() = default;
  virtual void loadModel(const ModelLoadSpec& spec, LoadCallback done) = 0;
  virtual void unloadModel(std::uint32_t handle, UnloadCallback done) = 0;
  virtual void stop(std::chrono::milliseconds grace) = 0;
  virtual void kill() = 0;
  virtual WorkerState state() const = 0;
  virtual int pid() const = 0;
  // The segment and lane eventfds HTTP loops use; null for a test double (no HTTP traffic).
  virtual const std::shared_ptr<const WorkerShm>& shm() const = 0;
  // Requests served so far (unchanged across a request's deadline: the worker is hung).
  virtual std::uint64_t progress() const = 0;
};

using SpawnResult = BasicResult<std::unique_ptr<WorkerHandle>, SpawnError>;

class WorkerSpawner {
 public:
  virtual ~WorkerSpawner() = default;
  // Synchronous failures come back as a SpawnError (no onExit follows); after success every
  // later outcome is reported through `events`.
  virtual SpawnResult spawn(const WorkerLaunch& launch, WorkerEvents events) = 0;
};

// The real one: WorkerProcess::spawn on `mainLoop` (the base must outlive the spawner's handles).
std::unique_ptr<WorkerSpawner> processSpawner(event_base* mainLoop);

}  // namespace ringserve::supervisor
