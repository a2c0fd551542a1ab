#pragma once
// A test double of the worker seam (supervisor/process/worker_handle.hpp): ServerCore "spawns"
// FakeWorkers that do nothing until the test says so. The test plays the worker: ready(),
// answerLoad(), die(); stop() and kill() end the worker from the loop as WorkerProcess does.
// Everything runs on the test's thread, which also drives the main loop (loop_driver.hpp).
//
// Ownership: ServerCore owns each FakeWorker (the handle); the spawner keeps the shared State of
// every worker it made, so the test can still look at one after the core dropped its handle.
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "supervisor/core/event_loop.hpp"
#include "supervisor/process/worker_handle.hpp"

namespace ringserve::supervisor::test {

struct FakeWorkerState {
  WorkerLaunch launch;
  WorkerEvents events;
  int pid = 0;
  bool handleAlive = true;  // false once the core destroyed the handle (calls nothing after)
  bool exited = false;
  bool stopped = false;  // stop() was called
  bool killed = false;   // kill() was called
  WorkerState state = WorkerState::starting;
  std::uint64_t progress = 0;
  struct Load {
    ModelLoadSpec spec;
    WorkerHandle::LoadCallback done;
  };
  std::deque<Load> loads;               // sent and not answered yet
  std::vector<std::uint32_t> unloaded;  // handles the core unloaded, in order

  // The test acting as the worker. Each does what WorkerProcess would report, synchronously.
  void ready();
  void answerLoad(Expected<LoadedModel> result);  // the oldest pending load
  void die(const std::string& reason, bool beforeReady = false);
};

class FakeSpawner final : public WorkerSpawner {
 public:
  explicit FakeSpawner(EventLoop& loop) : loop_(loop) {}
  SpawnResult spawn(const WorkerLaunch& launch, WorkerEvents events) override;

  // The next spawns fail synchronously with these errors, oldest first.
  std::deque<SpawnError> refuse;
  std::size_t refused = 0;  // spawns that failed that way
  // Every worker spawned, oldest first.
  std::vector<std::shared_ptr<FakeWorkerState>> spawned;
  FakeWorkerState& latest() { return *spawned.back(); }

 private:
  EventLoop& loop_;
};

}  // namespace ringserve::supervisor::test
