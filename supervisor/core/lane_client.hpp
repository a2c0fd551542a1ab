#pragma once
// One HTTP loop's end of lane k of one worker: sends InferRequest frames, receives responses on
// the lane's eventfd, frees request blocks when their response arrives, and sends `release` for
// response blocks once the reply no longer needs them. Lives on its loop's thread only.
//
// In flight per lane is bounded by the ring size, so the worker's response ring can never
// overflow; requests beyond the bound wait in a private backlog (no request is dropped).
#include <event2/event.h>

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "supervisor/core/event_loop.hpp"
#include "supervisor/core/worker_link.hpp"
#include "supervisor/error.hpp"
#include "transport/endpoint.hpp"
#include "transport/frame.hpp"
#include "worker.capnp.h"

namespace ringserve::supervisor {

class LaneClient;

// What a request's completion callback gets. `response` is valid only during the callback unless
// retain() is called, in which case the response blocks stay allocated (and the segment mapped)
// until the returned Retained object is destroyed.
struct Completion {
  LaneClient* lane = nullptr;
  std::uint64_t tag = 0;
  std::optional<Error> error;  // transport-level failure (worker died, corrupt)
  std::optional<schema::InferResponse::Reader> response;
  // Bounds-checked view of a tensor the worker wrote.
  Expected<std::span<const std::byte>> outputBytes(std::uint64_t offset, std::uint64_t size) const;
  // Keeps the response's blocks alive past the callback; releasing happens when the last copy of
  // the returned handle is dropped (on the lane's loop thread).
  std::shared_ptr<void> retain();
  bool retained = false;
  std::shared_ptr<void> retainedHandle;
};

class LaneClient : public std::enable_shared_from_this<LaneClient> {
 public:
  using Done = std::function<void(Completion&)>;

  LaneClient(EventLoop& loop, std::shared_ptr<WorkerLink> link, std::uint32_t lane);
  ~LaneClient();
  LaneClient(const LaneClient&) = delete;
  LaneClient& operator=(const LaneClient&) = delete;

  // Arena allocation for a request being built; every block must be handed to submit() or freed.
  Expected<std::uint64_t> allocate(std::uint64_t bytes);
  std::span<std::byte> bytes(std::uint64_t offset, std::uint64_t size) const;
  void free(std::uint64_t offset);

  // Queues the InferRequest frame at [frameOffset, +frameSize) of this lane's arena. `blocks`
  // (the frame's and the tensors' blocks) are owned by the request from now on and freed when the
  // worker answers. Returns the tag, or unavailable (after freeing the blocks) if the worker is gone.
  Expected<std::uint64_t> submit(std::uint64_t frameOffset, std::uint64_t frameSize, std::vector<std::uint64_t> blocks,
                                 Done done);
  transport::SupervisorLane& transportLane() { return lane_; }
  // The caller gave up (timeout, client gone): its callback will not run; blocks are freed when
  // the worker answers.
  void abandon(std::uint64_t tag);
  // The worker is gone: fail every pending request with `error`.
  void failAll(const Error& error);

  const std::shared_ptr<WorkerLink>& link() const { return link_; }
  std::size_t pending() const { return pending_.size(); }
  std::uint64_t requestArenaUsed() { return lane_.arena().used(); }

  // Internal: the release path for retained responses.
  void releaseResponse(std::uint64_t tag);

 private:
  struct Pending {
    std::vector<std::uint64_t> blocks;
    Done done;
  };
  static void onEvent(evutil_socket_t, short, void* self);
  void drain();
  void pushOrBacklog(const transport::Descriptor& d);
  void flushBacklog();
  void scheduleFlush();
  void completeOne(const transport::Descriptor& d);

  EventLoop& loop_;
  std::shared_ptr<WorkerLink> link_;
  transport::SupervisorLane lane_;
  Event event_;
  std::uint64_t nextTag_ = 1;
  std::unordered_map<std::uint64_t, Pending> pending_;
  std::deque<transport::Descriptor> backlog_;
  std::size_t inRing_ = 0;  // infer descriptors posted and not yet answered
  std::size_t maxInRing_;
  bool failed_ = false;
};

}  // namespace ringserve::supervisor
