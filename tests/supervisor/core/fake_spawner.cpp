#include "fake_spawner.hpp"

#include <stdexcept>

namespace ringserve::supervisor::test {

namespace {

class FakeWorker final : public WorkerHandle {
 public:
  FakeWorker(std::shared_ptr<FakeWorkerState> s, EventLoop& loop) : s_(std::move(s)), loop_(loop) {}
  // As WorkerProcess: destroying the handle calls nothing (pending loads are dropped).
  ~FakeWorker() override {
    s_->handleAlive = false;
    s_->loads.clear();
  }

  void loadModel(const ModelLoadSpec& spec, LoadCallback done) override {
    if (s_->state != WorkerState::ready) return done(unavailable("worker " + s_->launch.workerId + " is not ready"));
    s_->loads.push_back({spec, std::move(done)});
  }
  void unloadModel(std::uint32_t handle, UnloadCallback done) override {
    s_->unloaded.push_back(handle);
    loop_.post([done = std::move(done), handle] { done(handle); });
  }
  void stop(std::chrono::milliseconds) override {
    s_->stopped = true;
    endFromLoop("exited with status 0");
  }
  void kill() override {
    s_->killed = true;
    endFromLoop("killed by signal 9 (SIGKILL)");
  }
  WorkerState state() const override { return s_->state; }
  int pid() const override { return s_->pid; }
  const std::shared_ptr<const WorkerShm>& shm() const override { return shm_; }
  std::uint64_t progress() const override { return s_->progress; }

 private:
  // stop() and kill(): the exit is reported from the loop, never from inside the call.
  void endFromLoop(std::string reason) {
    if (s_->state == WorkerState::stopping || s_->exited) return;
    s_->state = WorkerState::stopping;
    loop_.post([s = s_, reason = std::move(reason)] {
      if (!s->handleAlive || s->exited) return;
      WorkerExit e;
      e.reason = reason;
      e.requested = true;
      s->exited = true;
      s->state = WorkerState::exited;
      auto loads = std::move(s->loads);
      for (auto& l : loads) l.done(unavailable("worker stopped"));
      s->events.onExit(e);
    });
  }

  std::shared_ptr<FakeWorkerState> s_;
  EventLoop& loop_;
  std::shared_ptr<const WorkerShm> shm_;  // none: no HTTP traffic in these tests
};

}  // namespace

void FakeWorkerState::ready() {
  if (!handleAlive || state != WorkerState::starting)
    throw std::logic_error("ready() on a worker that is not starting");
  state = WorkerState::ready;
  events.onReady(WorkerHello{});
}

void FakeWorkerState::answerLoad(Expected<LoadedModel> result) {
  if (loads.empty()) throw std::logic_error("answerLoad() with no load pending on " + launch.workerId);
  auto load = std::move(loads.front());
  loads.pop_front();
  if (result) result.value().handle = load.spec.handle;
  load.done(std::move(result));
}

void FakeWorkerState::die(const std::string& reason, bool beforeReady) {
  if (!handleAlive || exited) throw std::logic_error("die() on a worker that already ended");
  exited = true;
  state = WorkerState::exited;
  // WorkerProcess's order: pending requests fail first, then onExit.
  auto pending = std::move(loads);
  loads.clear();
  for (auto& l : pending) l.done(unavailable("worker " + launch.workerId + " died"));
  WorkerExit e;
  e.reason = reason;
  e.beforeReady = beforeReady;
  events.onExit(e);
}

SpawnResult FakeSpawner::spawn(const WorkerLaunch& launch, WorkerEvents events) {
  if (!refuse.empty()) {
    auto e = refuse.front();
    refuse.pop_front();
    ++refused;
    return e;
  }
  auto s = std::make_shared<FakeWorkerState>();
  s->launch = launch;
  s->events = std::move(events);
  s->pid = 1000 + static_cast<int>(spawned.size());
  spawned.push_back(s);
  return std::unique_ptr<WorkerHandle>(std::make_unique<FakeWorker>(s, loop_));
}

}  // namespace ringserve::supervisor::test
