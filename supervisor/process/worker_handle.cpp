#include "supervisor/process/worker_handle.hpp"

#include "supervisor/process/worker_process.hpp"

namespace ringserve::supervisor {

namespace {
class ProcessSpawner final : public WorkerSpawner {
 public:
  explicit ProcessSpawner(event_base* mainLoop) : mainLoop_(mainLoop) {}
  SpawnResult spawn(const WorkerLaunch& launch, WorkerEvents events) override {
    auto proc = WorkerProcess::spawn(mainLoop_, launch, std::move(events));
    if (!proc) return proc.error();
    return std::unique_ptr<WorkerHandle>(std::move(proc.value()));
  }

 private:
  event_base* mainLoop_;
};
}  // namespace

std::unique_ptr<WorkerSpawner> processSpawner(event_base* mainLoop) {
  return std::make_unique<ProcessSpawner>(mainLoop);
}

}  // namespace ringserve::supervisor
