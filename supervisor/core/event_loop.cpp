#include "supervisor/core/event_loop.hpp"

#include <event2/thread.h>

#include <stdexcept>

namespace ringserve::supervisor {

namespace {
// Priorities: 0 urgent, 1 default (evhttp, eventfds), 2 end-of-turn work.
constexpr int kPriorities = 3;
constexpr int kEndOfTurnPriority = 2;
}  // namespace

void initLibevent() {
  static std::once_flag once;
  std::call_once(once, [] { evthread_use_pthreads(); });
}

EventLoop::EventLoop(std::string name) : name_(std::move(name)) {
  initLibevent();
  base_ = event_base_new();
  if (base_ == nullptr) throw std::runtime_error("event_base_new failed for loop " + name_);
  event_base_priority_init(base_, kPriorities);
  postedEvent_ = Event::timer(base_, &EventLoop::onPosted, this);
  endOfTurnEvent_ = Event::timer(base_, &EventLoop::onEndOfTurn, this);
  endOfTurnEvent_.setPriority(kEndOfTurnPriority);
  stopEvent_ = Event::timer(
      base_, [](evutil_socket_t, short, void* b) { event_base_loopbreak(static_cast<event_base*>(b)); }, base_);
  stopEvent_.setPriority(0);
  loopThread_ = std::this_thread::get_id();
}

EventLoop::~EventLoop() {
  stop();
  // Work that never ran goes before the base: a callback may hold the last owner of an event of
  // this base (e.g. a WorkerProcess), whose destructor frees that event. post() from such a
  // destructor is dropped (stopped_).
  std::vector<std::function<void()>> neverRan;
  {
    std::lock_guard lock(mutex_);
    neverRan.swap(posted_);
  }
  neverRan.clear();
  endOfTurn_.clear();
  // The events go before their base.
  postedEvent_.reset();
  endOfTurnEvent_.reset();
  stopEvent_.reset();
  event_base_free(base_);
}

void EventLoop::post(std::function<void()> fn) {
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    posted_.push_back(std::move(fn));
  }
  postedEvent_.activate(0);
}

void EventLoop::onPosted(evutil_socket_t, short, void* self) {
  auto* loop = static_cast<EventLoop*>(self);
  std::vector<std::function<void()>> work;
  {
    std::lock_guard lock(loop->mutex_);
    work.swap(loop->posted_);
  }
  for (auto& fn : work) fn();
}

void EventLoop::atEndOfTurn(const void* key, std::function<void()> fn) {
  for (auto& [k, f] : endOfTurn_)
    if (k == key) return;
  if (endOfTurn_.empty()) endOfTurnEvent_.activate(0);
  endOfTurn_.emplace_back(key, std::move(fn));
}

void EventLoop::onEndOfTurn(evutil_socket_t, short, void* self) {
  auto* loop = static_cast<EventLoop*>(self);
  auto work = std::move(loop->endOfTurn_);
  loop->endOfTurn_.clear();
  for (auto& [k, fn] : work) fn();
}

void EventLoop::startThread() {
  thread_ = std::thread([this] { run(); });
}

void EventLoop::run() {
  loopThread_ = std::this_thread::get_id();
  event_base_loop(base_, EVLOOP_NO_EXIT_ON_EMPTY);
}

void EventLoop::stop() {
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
  }
  // event_base_loopbreak alone is lost if the loop has not started yet (libevent clears the flag).
  stopEvent_.activate(0);
  if (thread_.joinable() && std::this_thread::get_id() != thread_.get_id()) thread_.join();
}

}  // namespace ringserve::supervisor
