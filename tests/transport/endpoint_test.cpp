// SupervisorLane and WorkerEndpoint in one process: the wake-up protocol (who wakes whom, and
// when nobody needs waking), round-robin, bounds of peer views, and two threads streaming through
// both rings with real futex and eventfd sleeps (labelled tsan).
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "test_support.hpp"
#include "transport/endpoint.hpp"
#include "transport/wake.hpp"

using namespace ringserve::transport;
using namespace ringserve::transport::testing;

namespace {

struct EventFds {
  std::vector<int> fds;
  explicit EventFds(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) fds.push_back(makeEventFd());
  }
  ~EventFds() {
    for (int fd : fds) ::close(fd);
  }
};

Descriptor infer(std::uint64_t tag) {
  Descriptor d{};
  d.kind = static_cast<std::uint32_t>(DescriptorKind::infer);
  d.tag = tag;
  return d;
}

bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1;
}

std::uint32_t wakeSeq(const Segment& s) { return std::atomic_ref(s.header().worker_wake_seq).load(); }

}  // namespace

TEST(Endpoint, LaneWakesTheWorkerOnlyWhenItMayBeAsleep) {
  auto seg = makeSegment();
  EventFds efd(1);
  SupervisorLane lane(seg, 0, efd.fds[0]);
  WorkerEndpoint worker(seg, efd.fds);
  const auto seq0 = wakeSeq(seg);
  lane.flush();  // nothing posted: nothing to do
  ASSERT_TRUE(lane.post(infer(1)));
  lane.flush();  // the worker is awake (worker_sleeping = 0): no syscall
  EXPECT_EQ(lane.wakeupsSent(), 0u);
  EXPECT_EQ(wakeSeq(seg), seq0);

  seg.header().worker_sleeping = 1;  // what wait() announces before sleeping
  ASSERT_TRUE(lane.post(infer(2)));
  ASSERT_TRUE(lane.post(infer(3)));
  lane.flush();
  EXPECT_EQ(lane.wakeupsSent(), 1u) << "one wake-up for a batch";
  EXPECT_EQ(wakeSeq(seg), seq0 + 1);
  EXPECT_EQ(seg.header().worker_sleeping, 0u);
  lane.flush();
  EXPECT_EQ(lane.wakeupsSent(), 1u);
}

TEST(Endpoint, WorkerNotifiesALaneOnlyWhenItsLoopAskedForIt) {
  auto seg = makeSegment();
  EventFds efd(1);
  SupervisorLane lane(seg, 0, efd.fds[0]);  // a new lane starts out waiting
  WorkerEndpoint worker(seg, efd.fds);
  Descriptor r{};
  r.kind = static_cast<std::uint32_t>(DescriptorKind::response);
  worker.respond(0, r);
  worker.respond(0, r);
  worker.flush();
  EXPECT_EQ(worker.wakeupsSent(), 1u);
  EXPECT_TRUE(readable(efd.fds[0]));
  eventFdDrain(efd.fds[0]);

  worker.respond(0, r);  // the loop is awake and has not re-armed: no notification
  worker.flush();
  EXPECT_EQ(worker.wakeupsSent(), 1u);
  EXPECT_FALSE(readable(efd.fds[0]));
  EXPECT_FALSE(lane.armWait()) << "responses are waiting: the loop must not sleep";
  Descriptor got{};
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(lane.next(got).value());
  EXPECT_TRUE(lane.armWait());
  worker.respond(0, r);
  worker.flush();
  EXPECT_EQ(worker.wakeupsSent(), 2u);
  EXPECT_TRUE(readable(efd.fds[0]));
  worker.flush();  // nothing new since: no notification
  EXPECT_EQ(worker.wakeupsSent(), 2u);
}

TEST(Endpoint, WorkerTakesLanesRoundRobin) {
  auto seg = makeSegment(3, 8);
  EventFds efd(3);
  SupervisorLane l0(seg, 0, efd.fds[0]), l1(seg, 1, efd.fds[1]), l2(seg, 2, efd.fds[2]);
  WorkerEndpoint worker(seg, efd.fds);
  for (std::uint64_t i = 0; i < 3; ++i) {
    ASSERT_TRUE(l0.post(infer(i)));
    ASSERT_TRUE(l1.post(infer(100 + i)));
  }
  ASSERT_TRUE(l2.post(infer(200)));
  std::vector<std::pair<std::uint32_t, std::uint64_t>> order;
  Descriptor d{};
  std::uint32_t lane = 9;
  while (worker.next(d, lane).value()) order.emplace_back(lane, d.tag);
  const std::vector<std::pair<std::uint32_t, std::uint64_t>> want{{0, 0}, {1, 100}, {2, 200}, {0, 1},
                                                                   {1, 101}, {0, 2}, {1, 102}};
  EXPECT_EQ(order, want);
}

TEST(Endpoint, EachSideSeesOnlyItsPeersArena) {
  auto seg = makeSegment(2, 8, 1 << 16);
  EventFds efd(2);
  SupervisorLane lane0(seg, 0, efd.fds[0]), lane1(seg, 1, efd.fds[1]);
  WorkerEndpoint worker(seg, efd.fds);
  const auto req0 = lane0.allocate(128).value();
  const auto resp = worker.arena().allocate(128).value();
  EXPECT_TRUE(worker.peerView(0, req0, 128));
  EXPECT_FALSE(worker.peerView(1, req0, 128)) << "lane 1 cannot name lane 0's blocks";
  EXPECT_FALSE(worker.peerView(0, resp, 128)) << "requests cannot point into the response arena";
  EXPECT_FALSE(worker.peerView(2, req0, 128)) << "no such lane";
  EXPECT_TRUE(lane1.peerView(resp, 128));
  EXPECT_FALSE(lane1.peerView(req0, 128)) << "responses cannot point into a request arena";
  EXPECT_FALSE(lane1.peerView(0, 64)) << "nor at the header";
}

TEST(Endpoint, FramesAreOpenedOnlyForTheirKind) {
  auto seg = makeSegment();
  EventFds efd(1);
  SupervisorLane lane(seg, 0, efd.fds[0]);
  WorkerEndpoint worker(seg, efd.fds);
  Descriptor d = infer(1);
  d.kind = static_cast<std::uint32_t>(DescriptorKind::release);
  EXPECT_FALSE(worker.requestFrame(0, d));
  EXPECT_FALSE(lane.responseFrame(d));
  d.kind = static_cast<std::uint32_t>(DescriptorKind::response);
  d.error_code = static_cast<std::uint32_t>(DescriptorError::responseArenaFull);
  auto r = lane.responseFrame(d);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("carries error 1"), std::string::npos);
}

TEST(Endpoint, ACorruptRingIsAnErrorForTheWorker) {
  auto seg = makeSegment(2, 8);
  EventFds efd(2);
  WorkerEndpoint worker(seg, efd.fds);
  std::atomic_ref(seg.lane(1).request.head).store(1000);
  Descriptor d{};
  std::uint32_t lane = 0;
  auto r = worker.next(d, lane);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::corrupt);
}

TEST(Endpoint, WaitReturnsAtOnceWhenARequestIsPendingOrAfterItsTimeout) {
  auto seg = makeSegment();
  EventFds efd(1);
  SupervisorLane lane(seg, 0, efd.fds[0]);
  WorkerEndpoint worker(seg, efd.fds);
  worker.wait(0, 1'000'000);  // nothing pending: sleeps for at most 1 ms and returns
  EXPECT_EQ(worker.sleeps(), 1u);
  ASSERT_TRUE(lane.post(infer(1)));
  worker.wait(0, -1);  // would hang forever if it slept
  worker.wait(1'000'000, -1);
  EXPECT_EQ(worker.sleeps(), 1u);
}

TEST(Endpoint, InterruptBeforeWaitMakesWaitReturn) {
  auto seg = makeSegment();
  EventFds efd(1);
  WorkerEndpoint worker(seg, efd.fds);
  worker.interrupt();
  worker.wait(0, -1);  // would hang forever if the interrupt were lost
  SUCCEED();
}

TEST(Endpoint, InterruptWakesASleepingWaitFromAnotherThread) {
  auto seg = makeSegment();
  EventFds efd(1);
  WorkerEndpoint worker(seg, efd.fds);
  std::atomic<bool> stop{false};
  std::thread t([&] {
    while (!stop.load()) worker.wait(0, -1);
  });
  stop.store(true);
  worker.interrupt();
  t.join();
  SUCCEED();
}

// A worker thread and a lane thread with real sleeps on both sides: every request answered once,
// in order, and with a window of requests in flight far fewer wake-ups than requests.
TEST(Endpoint, TwoThreadsStreamWithRealSleepsAndBatchedWakeups) {
  auto seg = makeSegment(1, 64, 1 << 20);
  EventFds efd(1);
  SupervisorLane lane(seg, 0, efd.fds[0]);
  WorkerEndpoint worker(seg, efd.fds);
  const std::uint64_t n = scaled(400'000);
  std::atomic<bool> stop{false};
  std::atomic<bool> workerFailed{false};
  std::thread w([&] {
    while (!stop.load(std::memory_order_relaxed)) {
      Descriptor d{};
      std::uint32_t k = 0;
      bool any = false;
      for (;;) {
        auto r = worker.next(d, k);
        if (!r) {
          workerFailed = true;
          return;
        }
        if (!r.value()) break;
        any = true;
        d.kind = static_cast<std::uint32_t>(DescriptorKind::response);
        d.reserved[0] = d.tag * 3;
        worker.respond(k, d);
      }
      worker.flush();
      if (!any) worker.wait(5'000, -1);
    }
  });
  std::uint64_t sent = 0, got = 0;
  const std::uint64_t window = 32;
  bool ok = true;
  while (got < n && ok) {
    while (sent < n && sent - got < window && lane.post(infer(sent))) ++sent;
    lane.flush();
    Descriptor d{};
    bool any = false;
    while (lane.next(d).value()) {
      any = true;
      if (d.tag != got || d.reserved[0] != got * 3) ok = false;
      ++got;
    }
    if (!any && lane.armWait()) {
      pollfd p{lane.eventFd(), POLLIN, 0};
      if (::poll(&p, 1, 60'000) != 1) ok = false;
      eventFdDrain(lane.eventFd());
    }
  }
  stop.store(true);
  worker.interrupt();
  w.join();
  EXPECT_TRUE(ok);
  EXPECT_FALSE(workerFailed);
  EXPECT_EQ(got, n);
  EXPECT_LT(lane.wakeupsSent(), n / 2);
  EXPECT_LT(worker.wakeupsSent(), n / 2);
}
