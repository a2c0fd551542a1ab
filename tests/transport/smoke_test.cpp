#include <gtest/gtest.h>

#include "transport/endpoint.hpp"
#include "transport/wake.hpp"

using namespace ringserve::transport;

TEST(TransportSmoke, OneRequestOneResponseInProcess) {
  SegmentConfig c;
  c.lane_count = 1;
  c.ring_slots = 8;
  c.request_arena_size = 1 << 16;
  c.response_arena_size = 1 << 16;
  auto seg = Segment::create(c, "smoke");
  ASSERT_TRUE(seg) << seg.error().message;
  const int efd = makeEventFd();
  SupervisorLane lane(*seg, 0, efd);
  WorkerEndpoint worker(*seg, {efd});
  auto off = lane.allocate(100);
  ASSERT_TRUE(off);
  Descriptor d{};
  d.kind = static_cast<std::uint32_t>(DescriptorKind::infer);
  d.tag = 7;
  d.frame_offset = off.value();
  d.frame_size = 104;
  ASSERT_TRUE(lane.post(d));
  lane.flush();
  Descriptor got{};
  std::uint32_t k = 9;
  auto r = worker.next(got, k);
  ASSERT_TRUE(r && r.value());
  EXPECT_EQ(k, 0u);
  EXPECT_EQ(got.tag, 7u);
  ASSERT_TRUE(worker.peerView(0, got.frame_offset, got.frame_size));
  got.kind = static_cast<std::uint32_t>(DescriptorKind::response);
  worker.respond(0, got);
  worker.flush();
  Descriptor resp{};
  auto r2 = lane.next(resp);
  ASSERT_TRUE(r2 && r2.value());
  EXPECT_EQ(resp.tag, 7u);
  ::close(efd);
}
