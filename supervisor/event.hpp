#pragma once
// Event: the move-only owner of one libevent `event` (a timer, a readable/writable fd, a signal),
// freed on destruction, so no `event_new` is paired with an `event_free` by hand.
//
// Threads: an Event belongs to the loop of the event_base it was made on; add/del/activate from
// that loop's thread (libevent is made thread-aware by initLibevent(), so `activate` from another
// thread is safe too). Lifetime: freeing an event from inside its own callback is allowed by
// libevent, so `reset()` in a callback is fine; the callback's `arg` must outlive the Event.
#include <event2/event.h>

#include <chrono>
#include <utility>

namespace ringserve::supervisor {

class Event {
 public:
  Event() = default;
  // An empty Event when libevent cannot allocate (check with operator bool).
  Event(event_base* base, evutil_socket_t fd, short what, event_callback_fn fn, void* arg)
      : ev_(event_new(base, fd, what, fn, arg)) {}
  static Event timer(event_base* base, event_callback_fn fn, void* arg) { return Event(base, -1, 0, fn, arg); }
  static Event signal(event_base* base, int signum, event_callback_fn fn, void* arg) {
    return Event(base, signum, EV_SIGNAL | EV_PERSIST, fn, arg);
  }
  ~Event() { reset(); }
  Event(Event&& o) noexcept : ev_(std::exchange(o.ev_, nullptr)) {}
  Event& operator=(Event&& o) noexcept {
    if (this != &o) {
      reset();
      ev_ = std::exchange(o.ev_, nullptr);
    }
    return *this;
  }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  explicit operator bool() const { return ev_ != nullptr; }
  event* get() const { return ev_; }

  // Makes the event pending, with a timeout when given (a timer: fires once after it). A second
  // add re-arms it. Returns false when libevent refuses (or the Event is empty).
  bool add() { return ev_ != nullptr && event_add(ev_, nullptr) == 0; }
  bool add(const timeval& timeout) { return ev_ != nullptr && event_add(ev_, &timeout) == 0; }
  bool add(std::chrono::microseconds after) {
    const auto us = after.count() < 0 ? 0 : after.count();
    return add(timeval{static_cast<decltype(timeval::tv_sec)>(us / 1000000),
                       static_cast<decltype(timeval::tv_usec)>(us % 1000000)});
  }
  // No longer pending (a timer that has not fired will not); safe on an empty Event.
  void del() {
    if (ev_ != nullptr) event_del(ev_);
  }
  // Runs the callback in the loop's next turn with `what` as its events.
  void activate(short what = EV_TIMEOUT) {
    if (ev_ != nullptr) event_active(ev_, what, 0);
  }
  bool pending(short what = EV_TIMEOUT | EV_READ | EV_WRITE | EV_SIGNAL) const {
    return ev_ != nullptr && event_pending(ev_, what, nullptr) != 0;
  }
  void setPriority(int priority) {
    if (ev_ != nullptr) event_priority_set(ev_, priority);
  }
  void reset() {
    if (ev_ != nullptr) event_free(std::exchange(ev_, nullptr));
  }

 private:
  event* ev_ = nullptr;
};

}  // namespace ringserve::supervisor
