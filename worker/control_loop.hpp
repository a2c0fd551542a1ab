#pragma once
// The control channel: reads ToWorker frames (load, unload, heartbeat, shutdown), answers with
// FromWorker frames, and sends an unsolicited heartbeat every heartbeat interval. Loads and
// unloads run on job threads of their own, so a slow load neither stalls inference (which has its
// own thread) nor heartbeats and other control messages. Replies may therefore arrive in another
// order than their requests; each carries the id of the request it answers.
#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <capnp/message.h>

#include <functional>

#include "worker/infer_loop.hpp"
#include "worker/loaded_model.hpp"
#include "worker/metric_store.hpp"
#include "worker.capnp.h"

namespace ringserve::worker {

class ControlLoop {
 public:
  ControlLoop(int fd, ModelTable& models, MetricStore& metrics, const InferLoop& infer, std::uint64_t heartbeatMs)
      : fd_(fd), models_(models), metrics_(metrics), infer_(infer), heartbeatMs_(heartbeatMs) {}
  ~ControlLoop();

  // Thread-safe: one frame on the channel. False when the channel is gone.
  bool send(capnp::MessageBuilder& message);
  // Runs until shutdown or until the channel closes; returns then, after every job finished.
  // `reason` says which.
  void run(std::string& reason);

 private:
  void dispatch(schema::ToWorker::Reader msg);
  void startJob(std::function<void()> job);
  void reapJobs(bool all);
  void sendHeartbeat(std::uint64_t id);
  void sendError(std::uint64_t id, int code, const std::string& message);

  int fd_;
  ModelTable& models_;
  MetricStore& metrics_;
  const InferLoop& infer_;
  std::uint64_t heartbeatMs_;
  std::mutex sendMu_;
  bool shutdown_ = false;
  struct Job {
    std::thread thread;
    std::atomic<bool> done{false};
  };
  std::list<std::unique_ptr<Job>> jobs_;
};

// Resident set size of this process in bytes (0 if /proc is unreadable).
std::uint64_t residentBytes();

}  // namespace ringserve::worker
