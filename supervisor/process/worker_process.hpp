#pragma once
// One worker process as the supervisor's *main* libevent loop sees it: spawn, handshake, control
// channel requests, death detection, stop. Everything here runs on the main loop's thread; the
// only thing other threads touch is the WorkerShm (segment + lane eventfds) handed out by shm().
//
// Lifecycle (state()):
//   starting --hello accepted--> ready --stop()--> stopping --> exited
//       |                          |                             ^
//       +-- refused / died / no hello in time / kill() / died ---+
// `onReady` fires at most once (handshake accepted). `onExit` fires exactly once per spawned
// process, after it has been reaped (never a zombie), with a human reason; it also covers every
// startup failure (refused handshake, death or silence before hello), so the caller has a single
// place to run its restart policy. Pending loadModel/unloadModel callbacks fail (unavailable) before
// onExit runs, as soon as the channel or the process is gone.
//
// Callbacks may destroy the WorkerProcess (e.g. the pool drops it in onExit): nothing here
// touches `this` after a callback that could have done so.
// The destructor SIGKILLs and reaps synchronously if the process still runs; it calls no callback.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "supervisor/error.hpp"
#include "supervisor/process/worker_handle.hpp"
#include "supervisor/process/worker_launch.hpp"
#include "supervisor/process/worker_messages.hpp"
#include "supervisor/process/worker_shm.hpp"

struct event_base;

namespace ringserve::supervisor {

class WorkerProcess final : public WorkerHandle {
 public:
  // Creates the segment, the lane eventfds and the control socketpair, and fork+execs
  // `launch.executable` with the worker command line. Synchronous failures (memfd, socketpair,
  // fork, exec: e.g. a missing or non-executable binary) come back as a SpawnError whose message
  // names the worker id and pool label; no process is left behind. After success, every later
  // outcome is reported through `events`.
  static BasicResult<std::unique_ptr<WorkerProcess>, SpawnError> spawn(event_base* mainLoop, WorkerLaunch launch,
                                                                       WorkerEvents events);
  ~WorkerProcess() override;
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;

  // Control channel requests; the reply is matched by id. The callback runs exactly once: with
  // the worker's reply, or an error (the worker's own error code mapped to its ErrorKind as
  // supervisor/worker_error.hpp says; unavailable naming the
  // worker and pool if it is not ready or dies first). Calling while not ready fails at once
  // (through the callback, from this call). Destroying the WorkerProcess drops pending callbacks
  // without calling them.
  void loadModel(const ModelLoadSpec& spec, LoadCallback done) override;
  void unloadModel(std::uint32_t handle, UnloadCallback done) override;

  // Asks the worker to finish its in-flight requests and exit; SIGKILL after `grace`
  // (settings `parallel_workers_timeout`). No-op once stopping or exited. onExit follows.
  void stop(std::chrono::milliseconds grace) override;
  // SIGKILL now (hung worker, shutdown timeout). onExit follows from the loop.
  void kill() override;

  WorkerState state() const override { return state_; }
  int pid() const override { return pid_; }
  const std::string& id() const { return launch_.workerId; }
  const std::string& poolLabel() const { return launch_.poolLabel; }
  const WorkerLaunch& launch() const { return launch_; }
  // The segment and lane eventfds; HTTP loops keep a copy while they hold lanes of this worker.
  const std::shared_ptr<const WorkerShm>& shm() const override { return shm_; }
  // The worker's progress counter (bumped per request served): unchanged across a request's
  // deadline while requests are pending means the worker is hung.
  std::uint64_t progress() const override { return shm_->progress(); }
  // Requests sent on the control channel and not answered yet.
  std::size_t pendingControlRequests() const;

  // Test hook: use the SIGCHLD fallback instead of pidfd_open for processes spawned afterwards.
  static void forceSigchldFallbackForTesting(bool on);

  class Impl;  // the event-loop machinery (worker_process.cpp)

 private:
  WorkerProcess() = default;
  friend class Impl;

  WorkerLaunch launch_;
  WorkerState state_ = WorkerState::starting;
  int pid_ = -1;
  std::shared_ptr<const WorkerShm> shm_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ringserve::supervisor
