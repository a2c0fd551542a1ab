#pragma once
// A libevent event_base with a thread of its own (or the caller's thread for the main loop), a
// thread-safe post() to run work on it, and end-of-turn hooks: callbacks registered with
// atEndOfTurn() run once after the events of the current loop iteration, which is how lanes batch
// their wake-ups (post every request of the turn, wake each worker once).
#include <event2/event.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "supervisor/event.hpp"

namespace ringserve::supervisor {

class EventLoop {
 public:
  explicit EventLoop(std::string name);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  event_base* base() const { return base_; }
  const std::string& name() const { return name_; }

  // Runs fn on this loop's thread, soon. Safe from any thread; fn is dropped if the loop has stopped.
  void post(std::function<void()> fn);
  // Runs fn after the current turn's events (loop thread only). Deduplicated by `key`.
  void atEndOfTurn(const void* key, std::function<void()> fn);

  // Runs the loop on a new thread / on the calling thread until stop().
  void startThread();
  void run();
  // Breaks the loop (from any thread) and joins the thread if it owns one.
  void stop();
  bool onLoopThread() const { return std::this_thread::get_id() == loopThread_; }

 private:
  static void onPosted(evutil_socket_t, short, void* self);
  static void onEndOfTurn(evutil_socket_t, short, void* self);

  std::string name_;
  event_base* base_ = nullptr;
  Event postedEvent_;
  Event endOfTurnEvent_;
  Event stopEvent_;  // activated by stop(): stays pending until the loop runs, so no stop is lost
  std::mutex mutex_;
  std::vector<std::function<void()>> posted_;
  bool stopped_ = false;
  std::vector<std::pair<const void*, std::function<void()>>> endOfTurn_;
  std::thread thread_;
  std::thread::id loopThread_;
};

// Call once before any loop is created: makes libevent thread-aware.
void initLibevent();

}  // namespace ringserve::supervisor
