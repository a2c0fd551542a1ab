#pragma once
// The test turns the main loop itself (no loop thread, no sleeps): runUntil turns it until what
// the test waits for is true, each turn bounded by a 5 ms tick so a loop with nothing to do never
// blocks and an event that never comes is a failure after 20,000 turns, not a hang. Timers
// (restart backoff, load deadline, unload drain) fire as in the server, only sooner.
#include <event2/event.h>

#include <chrono>

#include "supervisor/core/event_loop.hpp"
#include "supervisor/event.hpp"

namespace ringserve::supervisor::test {

class LoopDriver {
 public:
  explicit LoopDriver(EventLoop& loop)
      : loop_(loop),
        tick_(Event::timer(
            loop.base(), [](evutil_socket_t, short, void*) {}, nullptr)) {}

  template <class Pred>
  bool runUntil(Pred pred) {
    for (int turn = 0; turn < 20000 && !pred(); ++turn) oneTurn();
    return pred();
  }
  // For "this does not happen": a few turns, each firing whatever timers are due by then.
  void runTurns(int turns = 20) {
    for (int turn = 0; turn < turns; ++turn) oneTurn();
  }

 private:
  void oneTurn() {
    tick_.add(std::chrono::milliseconds(5));
    event_base_loop(loop_.base(), EVLOOP_ONCE);
  }
  EventLoop& loop_;
  Event tick_;
};

}  // namespace ringserve::supervisor::test
