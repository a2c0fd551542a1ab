#include "supervisor/process/worker_shm.hpp"

#include <unistd.h>

#include <atomic>

namespace ringserve::supervisor {

WorkerShm::WorkerShm(std::string workerId, transport::Segment segment, std::vector<int> laneEventFds)
    : workerId_(std::move(workerId)), segment_(std::move(segment)), laneEventFds_(std::move(laneEventFds)) {}

WorkerShm::~WorkerShm() {
  for (int fd : laneEventFds_)
    if (fd >= 0) ::close(fd);
}

std::uint64_t WorkerShm::progress() const {
  return std::atomic_ref(segment_.header().worker_progress).load(std::memory_order_relaxed);
}

}  // namespace ringserve::supervisor
