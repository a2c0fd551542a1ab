// OpQueue: one name's operations in order, other names concurrently, the next one on a later turn.
#include "supervisor/core/op_queue.hpp"

#include <event2/event.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ringserve::supervisor {
namespace {

void runPosted(EventLoop& loop) { event_base_loop(loop.base(), EVLOOP_NONBLOCK); }

TEST(OpQueue, OperationsOnOneNameRunOneAfterAnotherAndOtherNamesDoNotWait) {
  EventLoop loop("main");
  OpQueue q(loop);
  std::vector<std::string> log;
  std::vector<OpQueue::Done> running;
  auto op = [&](std::string what) {
    return [&, what](OpQueue::Done d) {
      log.push_back("start " + what);
      running.push_back(std::move(d));
    };
  };
  auto done = [&](std::string what) { return [&, what](Expected<std::string>) { log.push_back("done " + what); }; };
  q.submit("m", op("m1"), done("m1"));
  q.submit("m", op("m2"), done("m2"));
  q.submit("n", op("n1"), done("n1"));
  EXPECT_EQ(log, (std::vector<std::string>{"start m1", "start n1"}));
  EXPECT_EQ(q.pending("m"), 2u);

  running[0](std::string("ok"));  // m1 finishes: its caller hears it; m2 starts on a later turn
  EXPECT_EQ(log.back(), "done m1");
  EXPECT_EQ(q.pending("m"), 1u);
  runPosted(loop);
  EXPECT_EQ(log.back(), "start m2");
  running[2](badRequest("no"));
  running[1](std::string("ok"));
  EXPECT_EQ(log, (std::vector<std::string>{"start m1", "start n1", "done m1", "start m2", "done m2", "done n1"}));
  EXPECT_EQ(q.pending("m"), 0u);
  EXPECT_EQ(q.pending("n"), 0u);
}

TEST(OpQueue, AnOperationThatCompletesAtOnceLetsTheNextRunAndACompletionTwiceIsIgnored) {
  EventLoop loop("main");
  OpQueue q(loop);
  int answers = 0;
  OpQueue::Done kept;
  q.submit(
      "m",
      [&](OpQueue::Done d) {
        kept = d;
        d(std::string("at once"));
      },
      [&](Expected<std::string> r) {
        ASSERT_TRUE(r);
        ++answers;
      });
  EXPECT_EQ(answers, 1);
  kept(std::string("again"));  // no entry left: nothing happens
  EXPECT_EQ(answers, 1);
  bool second = false;
  q.submit(
      "m", [&](OpQueue::Done d) { d(std::string("ok")); }, [&](Expected<std::string>) { second = true; });
  EXPECT_TRUE(second);
}

}  // namespace
}  // namespace ringserve::supervisor
