// SPSC descriptor rings: empty, full, wrap-around, corrupt counters, and two threads streaming
// through one ring (labelled tsan).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "test_support.hpp"
#include "transport/ring.hpp"

using namespace ringserve::transport;
using namespace ringserve::transport::testing;

namespace {

// A ring in private memory: the index and slots exactly as they sit in a segment.
struct LocalRing {
  explicit LocalRing(std::uint32_t n) : slots(n) {}
  RingIndex index{};
  std::vector<Descriptor> slots;
  RingProducer producer() { return {&index, slots.data(), static_cast<std::uint32_t>(slots.size())}; }
  RingConsumer consumer() { return {&index, slots.data(), static_cast<std::uint32_t>(slots.size())}; }
};

Descriptor numbered(std::uint64_t i) {
  Descriptor d{};
  d.kind = static_cast<std::uint32_t>(DescriptorKind::infer);
  d.tag = i;
  d.frame_offset = i * 64;
  d.frame_size = i % 4096;
  d.reserved[2] = ~i;
  return d;
}

bool popOne(RingConsumer& c, Descriptor& out) {
  auto r = c.tryPop(out);
  EXPECT_TRUE(r) << r.error().message;
  return r && r.value();
}

}  // namespace

TEST(Ring, EmptyRingYieldsNothing) {
  LocalRing ring(4);
  auto c = ring.consumer();
  Descriptor d{};
  EXPECT_TRUE(c.empty());
  EXPECT_FALSE(popOne(c, d));
}

TEST(Ring, FullRingRefusesUntilASlotIsConsumed) {
  LocalRing ring(8);
  auto p = ring.producer();
  auto c = ring.consumer();
  for (std::uint64_t i = 0; i < 8; ++i) EXPECT_TRUE(p.tryPush(numbered(i)));
  EXPECT_FALSE(p.tryPush(numbered(8)));
  EXPECT_EQ(p.pending(), 8u);
  Descriptor d{};
  ASSERT_TRUE(popOne(c, d));
  EXPECT_EQ(d.tag, 0u);
  EXPECT_TRUE(p.tryPush(numbered(8)));
  EXPECT_FALSE(p.tryPush(numbered(9)));
}

TEST(Ring, WrapsAroundManyTimesInOrder) {
  LocalRing ring(4);
  auto p = ring.producer();
  auto c = ring.consumer();
  std::uint64_t pushed = 0, popped = 0;
  // Batches of 1..4 so the head and tail cross the end of the slots at every phase.
  for (int round = 0; round < 1000; ++round) {
    const int batch = 1 + round % 4;
    for (int i = 0; i < batch; ++i) ASSERT_TRUE(p.tryPush(numbered(pushed++)));
    for (int i = 0; i < batch; ++i) {
      Descriptor d{};
      ASSERT_TRUE(popOne(c, d));
      ASSERT_EQ(d.tag, popped);
      ASSERT_EQ(d.reserved[2], ~popped);
      ++popped;
    }
    Descriptor d{};
    ASSERT_FALSE(popOne(c, d));
  }
  EXPECT_EQ(ring.index.head, 2500u);
  EXPECT_EQ(ring.index.tail, 2500u);
}

TEST(Ring, EndpointsResumeFromTheSharedCounters) {
  LocalRing ring(4);
  {
    auto p = ring.producer();
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(p.tryPush(numbered(i)));
  }
  auto c = ring.consumer();
  Descriptor d{};
  ASSERT_TRUE(popOne(c, d));
  auto p2 = ring.producer();  // a new producer picks up head = 3
  ASSERT_TRUE(p2.tryPush(numbered(3)));
  ASSERT_TRUE(p2.tryPush(numbered(4)));
  EXPECT_FALSE(p2.tryPush(numbered(5)));
  for (std::uint64_t want = 1; want <= 4; ++want) {
    ASSERT_TRUE(popOne(c, d));
    EXPECT_EQ(d.tag, want);
  }
}

TEST(Ring, HeadTooFarAheadIsCorruptAndStaysCorrupt) {
  LocalRing ring(8);
  auto c = ring.consumer();
  ring.index.head = 9;  // nine descriptors published into eight slots: impossible
  Descriptor d{};
  for (int i = 0; i < 3; ++i) {
    auto r = c.tryPop(d);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::corrupt);
    EXPECT_NE(r.error().message.find("more than 8 slots ahead"), std::string::npos) << r.error().message;
  }
  EXPECT_EQ(ring.index.tail, 0u);
}

TEST(Ring, HeadBehindTailIsCorrupt) {
  LocalRing ring(8);
  auto p = ring.producer();
  auto c = ring.consumer();
  ASSERT_TRUE(p.tryPush(numbered(0)));
  Descriptor d{};
  ASSERT_TRUE(popOne(c, d));
  ring.index.head = 0;  // the producer went backwards
  auto r = c.tryPop(d);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::corrupt);
}

TEST(Ring, ExactlyFullIsNotCorrupt) {
  LocalRing ring(8);
  auto c = ring.consumer();
  ring.index.head = 8;
  Descriptor d{};
  EXPECT_TRUE(popOne(c, d));
}

// A corrupt consumer can only stall its own ring: the producer writes inside its slots or not at all.
TEST(Ring, ATailPastTheHeadMakesTheProducerSeeAFullRing) {
  LocalRing ring(8);
  ring.index.tail = 100;
  auto p = ring.producer();
  EXPECT_FALSE(p.tryPush(numbered(0)));
  LocalRing ring2(8);
  auto p2 = ring2.producer();
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(p2.tryPush(numbered(i)));
  ring2.index.tail = 100;
  EXPECT_FALSE(p2.tryPush(numbered(8)));
}

// One producer thread, one consumer thread, a small ring so it is full and empty all the time.
TEST(Ring, TwoThreadsStreamEveryDescriptorInOrder) {
  LocalRing ring(16);
  const std::uint64_t n = scaled(2'000'000);
  std::atomic<bool> failed{false};
  std::thread consumer([&] {
    auto c = ring.consumer();
    std::uint64_t want = 0;
    while (want < n && !failed) {
      Descriptor d{};
      auto r = c.tryPop(d);
      if (!r) {
        failed = true;
        break;
      }
      if (!r.value()) {
        std::this_thread::yield();
        continue;
      }
      if (d.tag != want || d.reserved[2] != ~want || d.frame_offset != want * 64) failed = true;
      ++want;
    }
  });
  auto p = ring.producer();
  for (std::uint64_t i = 0; i < n && !failed;) {
    if (p.tryPush(numbered(i)))
      ++i;
    else
      std::this_thread::yield();
  }
  consumer.join();
  EXPECT_FALSE(failed);
}
