// The transport across a real process boundary: transport_echo_peer is fork + exec'd with the
// segment and eventfds inherited, exactly as the worker is.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "lane_driver.hpp"
#include "peer_process.hpp"
#include "test_support.hpp"
#include "transport/wake.hpp"

using namespace ringserve::transport;
using namespace ringserve::transport::testing;

namespace {

struct Fds {
  std::vector<int> fds;
  explicit Fds(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) fds.push_back(makeEventFd());
  }
  ~Fds() {
    for (int fd : fds) ::close(fd);
  }
};

SegmentConfig config(std::uint32_t lanes) {
  SegmentConfig c;
  c.lane_count = lanes;
  c.ring_slots = 128;
  c.request_arena_size = 16 << 20;
  c.response_arena_size = 32 << 20;
  return c;
}

DriveOptions opts(std::uint64_t messages, std::uint32_t window, std::uint64_t seed) {
  DriveOptions o;
  o.messages = messages;
  o.window = window;
  o.seed = seed;
  return o;
}

}  // namespace

// A million descriptors (a sixteenth under sanitizers) and their payloads, of random sizes, on two
// lanes driven from two threads; every byte of every answer is checked, and at the end every
// block on both sides has been given back.
TEST(CrossProcess, ChecksummedStreamOfRandomSizesOnTwoLanes) {
  const std::size_t memfdsBefore = countMemfds();
  {
    auto seg = Segment::create(config(2), "cross-process");
    ASSERT_TRUE(seg) << seg.error().message;
    Fds efds(2);
    auto peer = PeerProcess::spawn(seg->fd(), efds.fds);
    SupervisorLane lane0(*seg, 0, efds.fds[0]);
    SupervisorLane lane1(*seg, 1, efds.fds[1]);
    const std::uint64_t perLane = scaled(500'000);
    DriveResult r0, r1;
    std::thread t([&] { r1 = drive(lane1, peer.pidfd(), opts(perLane, 64, 2)); });
    r0 = drive(lane0, peer.pidfd(), opts(perLane, 24, 1));
    t.join();
    EXPECT_EQ(r0.error, "");
    EXPECT_EQ(r1.error, "");
    EXPECT_EQ(r0.verified, perLane);
    EXPECT_EQ(r1.verified, perLane);
    EXPECT_EQ(lane0.arena().used(), 0u);
    EXPECT_EQ(lane1.arena().used(), 0u);
    EXPECT_EQ(lane0.arena().badFrees(), 0u);

    std::uint64_t peerInUse = 1;
    EXPECT_EQ(syncPeer(lane1, peer.pidfd(), peerInUse), "");  // lane 1's last releases are handled
    EXPECT_EQ(quitPeer(lane0, peer.pidfd(), peerInUse), "");
    EXPECT_EQ(peerInUse, 0u) << "the peer still holds response blocks after every release";
    const int status = peer.wait();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << peer.readStderr();
    // A lane that posts several requests per flush wakes the worker far less than once per request.
    EXPECT_LT(lane1.wakeupsSent(), perLane);
  }
  EXPECT_EQ(countMemfds(), memfdsBefore);
}

// The peer is SIGKILLed mid-stream: the lane's sleep on (eventfd, pidfd) ends, the death is
// reported, the segment can be dropped, and a fresh segment + peer work again.
TEST(CrossProcess, PeerKilledMidStreamIsNoticedAndTheSegmentDropped) {
  const std::size_t memfdsBefore = countMemfds();
  {
    auto seg = Segment::create(config(1), "killed-peer");
    ASSERT_TRUE(seg) << seg.error().message;
    Fds efds(1);
    auto peer = PeerProcess::spawn(seg->fd(), efds.fds);
    SupervisorLane lane(*seg, 0, efds.fds[0]);
    const pid_t pid = peer.pid();
    auto o = opts(1'000'000'000, 16, 3);
    o.onResponse = [pid](std::uint64_t n) {
      if (n == 5000) ::kill(pid, SIGKILL);
    };
    auto r = drive(lane, peer.pidfd(), o);
    EXPECT_TRUE(r.peerDied) << r.error;
    EXPECT_GE(r.verified, 5000u);
    EXPECT_LT(r.verified, 1'000'000'000u);
    const int status = peer.wait();
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    // Whatever the peer held dies with the segment: nothing to free one by one.
  }
  EXPECT_EQ(countMemfds(), memfdsBefore);

  auto seg = Segment::create(config(1), "replacement");
  ASSERT_TRUE(seg);
  Fds efds(1);
  auto peer = PeerProcess::spawn(seg->fd(), efds.fds);
  SupervisorLane lane(*seg, 0, efds.fds[0]);
  auto r = drive(lane, peer.pidfd(), opts(100, 4, 4));
  EXPECT_EQ(r.error, "");
  std::uint64_t inUse = 1;
  EXPECT_EQ(quitPeer(lane, peer.pidfd(), inUse), "");
  EXPECT_EQ(inUse, 0u);
  EXPECT_EQ(peer.wait(), 0);
}

// A peer that is handed a segment it must not trust refuses it and exits with status 2.
TEST(CrossProcess, PeerRefusesASegmentOtherUsersCouldMap) {
  auto seg = Segment::create(config(1), "public");
  ASSERT_TRUE(seg);
  ASSERT_EQ(::fchmod(seg->fd(), 0644), 0);
  Fds efds(1);
  auto peer = PeerProcess::spawn(seg->fd(), efds.fds);
  const int status = peer.wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2);
  EXPECT_NE(peer.readStderr().find("accessible to other users"), std::string::npos);
}

TEST(CrossProcess, PeerRefusesASegmentOfAnotherLayoutVersion) {
  auto seg = Segment::create(config(1), "old-layout");
  ASSERT_TRUE(seg);
  seg->header().layout_version = ringserve::kShmLayoutVersion + 1;
  Fds efds(1);
  auto peer = PeerProcess::spawn(seg->fd(), efds.fds);
  const int status = peer.wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2);
  const std::string err = peer.readStderr();
  EXPECT_NE(err.find("layout version " + std::to_string(ringserve::kShmLayoutVersion + 1)), std::string::npos) << err;
}
