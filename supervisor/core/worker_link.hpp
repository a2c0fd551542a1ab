#pragma once
// What every HTTP loop knows about one running worker (one incarnation: a restarted worker gets a
// new link). Created on the main loop; shared read-mostly with the HTTP loops.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "supervisor/process/worker_shm.hpp"

namespace ringserve::supervisor {

struct WorkerLink {
  std::string id;          // "default/0"
  std::string pool;        // pool label for messages: "default", "environment sha256:ab12…"
  std::uint64_t incarnation = 0;
  // Keeps the segment mapped and the lane eventfds open while anyone (a lane, an HTTP response
  // still referencing output bytes) needs them.
  std::shared_ptr<const WorkerShm> shm;

  std::atomic<int> inFlight{0};  // requests sent and not answered, over all lanes (dispatch uses it)
  std::atomic<std::uint64_t> requestBytesInUse{0};  // request arena bytes held, over all lanes

  // Set once by the main loop when the worker is gone, before the death is posted to HTTP loops.
  void markDead(std::string reason) {
    std::lock_guard lock(mutex_);
    deathReason_ = std::move(reason);
    dead_.store(true, std::memory_order_release);
  }
  bool dead() const { return dead_.load(std::memory_order_acquire); }
  std::string deathReason() const {
    std::lock_guard lock(mutex_);
    return deathReason_;
  }

 private:
  mutable std::mutex mutex_;
  std::string deathReason_;
  std::atomic<bool> dead_{false};
};

}  // namespace ringserve::supervisor
