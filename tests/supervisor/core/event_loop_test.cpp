// EventLoop: posted work runs on the loop's thread in order, nothing runs after stop(), and
// teardown destroys work that never ran while the event base still exists (a posted callback may
// hold the last owner of an event of that base; freeing the base first was a use after free on
// every graceful shutdown, which ASan reports).
#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "supervisor/core/event_loop.hpp"

namespace ringserve::supervisor {
namespace {

struct EventOwner {
  Event timer;
  explicit EventOwner(event_base* base)
      : timer(Event::timer(
            base, [](evutil_socket_t, short, void*) {}, nullptr)) {}
};

TEST(EventLoop, PostedWorkRunsOnTheLoopThreadInOrder) {
  initLibevent();
  EventLoop loop("test");
  loop.startThread();
  std::vector<int> seen;
  std::promise<std::thread::id> ran;
  for (int i = 0; i < 3; ++i) loop.post([&seen, i] { seen.push_back(i); });
  loop.post([&] { ran.set_value(std::this_thread::get_id()); });
  EXPECT_NE(ran.get_future().get(), std::this_thread::get_id());
  loop.stop();
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 2}));
}

TEST(EventLoop, NothingPostedAfterStopRuns) {
  initLibevent();
  EventLoop loop("test");
  loop.startThread();
  loop.stop();
  auto flag = std::make_shared<int>(0);
  std::weak_ptr<int> weak = flag;
  loop.post([flag] { ++*flag; });
  flag.reset();
  EXPECT_TRUE(weak.expired()) << "a dropped post keeps nothing alive";
}

TEST(EventLoop, WorkThatNeverRanIsDestroyedBeforeTheEventBase) {
  initLibevent();
  std::weak_ptr<EventOwner> weak;
  {
    EventLoop loop("test");  // never run: everything posted stays queued
    auto owner = std::make_shared<EventOwner>(loop.base());
    weak = owner;
    loop.post([owner] { (void)owner; });
    loop.atEndOfTurn(&loop, [owner] { (void)owner; });
  }  // ~EventLoop: the queued callbacks (the last owners of `timer`) go first, then the base
  EXPECT_TRUE(weak.expired());
}

}  // namespace
}  // namespace ringserve::supervisor
