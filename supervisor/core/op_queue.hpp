#pragma once
// Operations on one model name (load, reload, unload, load --path) run one after another, in the
// order they arrived; operations on different names run concurrently. An operation is done when
// it calls the Done it was given; the caller's Done runs then, and the next operation of that
// name starts on a later turn of the loop (never inside the previous one's completion).
//
// Threads: main loop only (ServerCore posts every entry point there first).
#include <deque>
#include <functional>
#include <map>
#include <string>

#include "supervisor/core/event_loop.hpp"
#include "supervisor/error.hpp"

namespace ringserve::supervisor {

class OpQueue {
 public:
  using Done = std::function<void(Expected<std::string>)>;
  using Op = std::function<void(Done)>;

  explicit OpQueue(EventLoop& main) : main_(main) {}
  // Runs `op` now if nothing else runs for `name`, else after the ones queued before it.
  void submit(const std::string& name, Op op, Done done);
  // Operations queued or running for `name` (for tests and status).
  std::size_t pending(const std::string& name) const;

 private:
  void runNext(const std::string& name);

  struct Pending {
    Op op;
    Done done;
  };
  EventLoop& main_;
  std::map<std::string, std::deque<Pending>> queues_;  // front: the running one
};

}  // namespace ringserve::supervisor
