// Segment: layout for several configurations, creation (mode, seals), and every way Segment::open
// must refuse an fd (mode, seals, owner-visible size, magic, layout version, sizes, truncation).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "test_support.hpp"
#include "transport/segment.hpp"

using namespace ringserve::transport;
using namespace ringserve::transport::testing;

namespace {

struct Range {
  std::uint64_t begin, end;
  const char* what;
};

void expectDisjointAndInside(std::vector<Range> rs, std::uint64_t total) {
  std::sort(rs.begin(), rs.end(), [](const Range& a, const Range& b) { return a.begin < b.begin; });
  for (std::size_t i = 0; i < rs.size(); ++i) {
    EXPECT_LE(rs[i].begin, rs[i].end) << rs[i].what;
    EXPECT_LE(rs[i].end, total) << rs[i].what;
    if (i > 0) {
      EXPECT_LE(rs[i - 1].end, rs[i].begin) << rs[i - 1].what << " overlaps " << rs[i].what;
    }
  }
}

// An fd holding a copy of `seg` that we may then damage, without touching `seg`.
int copyOf(const Segment& seg, bool seal = true, mode_t mode = 0600) {
  const int fd = ::memfd_create("copy", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(::fchmod(fd, mode), 0);
  EXPECT_EQ(::write(fd, seg.base(), seg.size()), static_cast<ssize_t>(seg.size()));
  if (seal) {
    EXPECT_EQ(::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
  }
  return fd;
}

// A sealed 0600 fd with `seg`'s bytes after `damage` changed its header.
template <class F>
int damagedCopy(const Segment& seg, F damage) {
  std::vector<std::byte> bytes(seg.base(), seg.base() + seg.size());
  damage(*reinterpret_cast<SegmentHeader*>(bytes.data()), bytes);
  const int fd = ::memfd_create("damaged", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  EXPECT_EQ(::fchmod(fd, 0600), 0);
  EXPECT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  EXPECT_EQ(::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
  return fd;
}

TransportError openError(int fd) {
  auto s = Segment::open(fd);
  EXPECT_FALSE(s);
  return s ? TransportError{} : s.error();
}

}  // namespace

TEST(SegmentLayout, RegionsAreAlignedDisjointAndInsideForSeveralConfigs) {
  const SegmentConfig configs[] = {
      {1, 2, 4096, 4096, 0},
      {1, 256, 64 << 20, 64 << 20, 0},
      {3, 64, 12288, 40960, 0},
      {8, 1024, 1 << 20, 8 << 20, 0},
      {256, 2, 4096, 4096, 0},
      SegmentConfig::fromShmSize(100 << 20, 5),
  };
  for (const auto& c : configs) {
    SCOPED_TRACE("lanes " + std::to_string(c.lane_count) + " slots " + std::to_string(c.ring_slots));
    const auto l = SegmentLayout::compute(c);
    EXPECT_EQ(l.lanes_offset % kCacheLine, 0u);
    EXPECT_EQ(l.rings_offset % kCacheLine, 0u);
    EXPECT_EQ(l.request_arena_offset % kRegionAlignment, 0u);
    EXPECT_EQ(l.response_arena_offset % kRegionAlignment, 0u);
    EXPECT_EQ(l.total_size % kRegionAlignment, 0u);
    std::vector<Range> rs{{0, sizeof(SegmentHeader), "header"},
                          {l.lanes_offset, l.lanes_offset + c.lane_count * sizeof(LaneControl), "lane controls"},
                          {l.rings_offset, l.rings_offset + 2ULL * c.lane_count * c.ring_slots * sizeof(Descriptor), "rings"},
                          {l.response_arena_offset, l.response_arena_offset + c.response_arena_size, "response arena"}};
    for (std::uint32_t k = 0; k < c.lane_count; ++k)
      rs.push_back({l.request_arena_offset + k * c.request_arena_size,
                    l.request_arena_offset + (k + 1) * c.request_arena_size, "a request arena"});
    expectDisjointAndInside(rs, l.total_size);
  }
}

TEST(SegmentLayout, CreatedSegmentHandsOutDisjointRingsAndArenas) {
  auto seg = makeSegment(3, 16, 1 << 16);
  ASSERT_TRUE(seg.valid());
  const auto base = reinterpret_cast<std::uintptr_t>(seg.base());
  std::vector<Range> rs{{0, sizeof(SegmentHeader), "header"}};
  for (std::uint32_t k = 0; k < 3; ++k) {
    const auto lane = reinterpret_cast<std::uintptr_t>(&seg.lane(k)) - base;
    EXPECT_EQ(lane % kCacheLine, 0u);
    rs.push_back({lane, lane + sizeof(LaneControl), "lane"});
    const auto req = reinterpret_cast<std::uintptr_t>(seg.requestSlots(k)) - base;
    const auto resp = reinterpret_cast<std::uintptr_t>(seg.responseSlots(k)) - base;
    EXPECT_EQ(req % kCacheLine, 0u);
    rs.push_back({req, req + 16 * sizeof(Descriptor), "request ring"});
    rs.push_back({resp, resp + 16 * sizeof(Descriptor), "response ring"});
    const auto a = seg.requestArena(k);
    EXPECT_EQ(a.offset % kRegionAlignment, 0u);
    rs.push_back({a.offset, a.offset + a.size, "request arena"});
  }
  rs.push_back({seg.responseArena().offset, seg.responseArena().offset + seg.responseArena().size, "response arena"});
  expectDisjointAndInside(rs, seg.size());
}

TEST(SegmentLayout, ShmSizeIsSplitHalfForRequestsHalfForResponses) {
  const auto c = SegmentConfig::fromShmSize(256 << 20, 4);
  EXPECT_EQ(c.request_arena_size, 32u << 20);
  EXPECT_EQ(c.response_arena_size, 128u << 20);
  EXPECT_EQ(c.shm_size_setting, 256u << 20);
  EXPECT_EQ(SegmentConfig::fromShmSize(1 << 20, 0).lane_count, 1u);
}

TEST(Segment, CreateMakesAPrivateSealedMemfd) {
  auto seg = makeSegment();
  struct stat st {};
  ASSERT_EQ(::fstat(seg.fd(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(static_cast<std::size_t>(st.st_size), seg.size());
  const int seals = ::fcntl(seg.fd(), F_GET_SEALS);
  EXPECT_EQ(seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL), F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
  EXPECT_NE(::ftruncate(seg.fd(), 0), 0) << "a sealed segment must not shrink";
  EXPECT_EQ(seg.header().magic, kSegmentMagic);
  EXPECT_EQ(seg.header().layout_version, ringserve::kShmLayoutVersion);
  EXPECT_EQ(seg.header().shm_size_setting, 2u << 16);
}

TEST(Segment, CreateRejectsImpossibleConfigs) {
  SegmentConfig c;
  c.request_arena_size = c.response_arena_size = 4096;
  c.lane_count = 0;
  EXPECT_FALSE(Segment::create(c, "bad"));
  c.lane_count = 257;
  EXPECT_FALSE(Segment::create(c, "bad"));
  c.lane_count = 1;
  c.ring_slots = 12;
  auto r = Segment::create(c, "bad");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("power of two"), std::string::npos);
  c.ring_slots = 1;
  EXPECT_FALSE(Segment::create(c, "bad"));
}

TEST(Segment, ArenaSizesAreRoundedUpToPages) {
  SegmentConfig c;
  c.lane_count = 2;
  c.ring_slots = 4;
  c.request_arena_size = 1000;
  c.response_arena_size = 5000;
  auto seg = Segment::create(c, "odd sizes");
  ASSERT_TRUE(seg) << seg.error().message;
  EXPECT_EQ(seg->requestArena(1).offset % kRegionAlignment, 0u);
  EXPECT_EQ(seg->requestArena(0).size, 4096u);
  EXPECT_EQ(seg->responseArena().size, 8192u);
  auto reopened = Segment::open(::dup(seg->fd()));
  EXPECT_TRUE(reopened) << reopened.error().message;
}

TEST(Segment, OpenAcceptsWhatCreateMade) {
  auto seg = makeSegment(2, 32, 1 << 16);
  auto peer = Segment::open(::dup(seg.fd()));
  ASSERT_TRUE(peer) << peer.error().message;
  EXPECT_EQ(peer->size(), seg.size());
  EXPECT_EQ(peer->requestArena(1).offset, seg.requestArena(1).offset);
  // Both mappings are the same memory.
  seg.base()[seg.responseArena().offset] = std::byte{42};
  EXPECT_EQ(peer->base()[seg.responseArena().offset], std::byte{42});
}

TEST(Segment, OpenRefusesAModeOtherUsersCouldMap) {
  auto seg = makeSegment();
  const auto e = openError(copyOf(seg, true, 0644));
  EXPECT_EQ(e.code, ErrorCode::permissions);
  EXPECT_NE(e.message.find("mode 0644"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("expected 0600"), std::string::npos) << e.message;
}

TEST(Segment, OpenRefusesAnUnsealedSegment) {
  auto seg = makeSegment();
  const auto e = openError(copyOf(seg, false));
  EXPECT_EQ(e.code, ErrorCode::permissions);
  EXPECT_NE(e.message.find("not sealed"), std::string::npos) << e.message;
}

TEST(Segment, OpenRefusesWrongMagic) {
  auto seg = makeSegment();
  const auto e = openError(damagedCopy(seg, [](SegmentHeader& h, auto&) { h.magic ^= 1; }));
  EXPECT_EQ(e.code, ErrorCode::badHeader);
  EXPECT_NE(e.message.find("bad magic"), std::string::npos) << e.message;
}

TEST(Segment, OpenRefusesAnotherLayoutVersionNamingBoth) {
  auto seg = makeSegment();
  const auto e = openError(damagedCopy(seg, [](SegmentHeader& h, auto&) { h.layout_version = 7; }));
  EXPECT_EQ(e.code, ErrorCode::badHeader);
  EXPECT_NE(e.message.find("version 7"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("this build's " + std::to_string(ringserve::kShmLayoutVersion)), std::string::npos)
      << e.message;
}

TEST(Segment, OpenRefusesOtherStructSizes) {
  auto seg = makeSegment();
  for (auto damage : {+[](SegmentHeader& h) { h.header_size += 64; }, +[](SegmentHeader& h) { h.descriptor_size = 128; },
                      +[](SegmentHeader& h) { h.lane_control_size = 0; }}) {
    const auto e = openError(damagedCopy(seg, [&](SegmentHeader& h, auto&) { damage(h); }));
    EXPECT_EQ(e.code, ErrorCode::badHeader);
  }
}

TEST(Segment, OpenRefusesATruncatedSegment) {
  auto seg = makeSegment();
  // The header claims the full size, the file holds half of it.
  const int fd = ::memfd_create("truncated", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  ASSERT_EQ(::fchmod(fd, 0600), 0);
  ASSERT_EQ(::write(fd, seg.base(), seg.size() / 2), static_cast<ssize_t>(seg.size() / 2));
  ASSERT_EQ(::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
  auto e = openError(fd);
  EXPECT_EQ(e.code, ErrorCode::badHeader);
  EXPECT_NE(e.message.find("says " + std::to_string(seg.size()) + " bytes"), std::string::npos) << e.message;
  // Smaller than a header: refused before mapping.
  const int tiny = ::memfd_create("tiny", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  ASSERT_EQ(::fchmod(tiny, 0600), 0);
  ASSERT_EQ(::write(tiny, seg.base(), 16), 16);
  ASSERT_EQ(::fcntl(tiny, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
  e = openError(tiny);
  EXPECT_NE(e.message.find("smaller than its header"), std::string::npos) << e.message;
}

TEST(Segment, OpenRefusesInconsistentGeometry) {
  auto seg = makeSegment(2, 8, 1 << 16);
  using Damage = void (*)(SegmentHeader&);
  const Damage damages[] = {
      [](SegmentHeader& h) { h.lane_count = 3; },
      [](SegmentHeader& h) { h.lane_count = 0; },
      [](SegmentHeader& h) { h.ring_slots = 6; },
      [](SegmentHeader& h) { h.ring_slots = 16; },
      [](SegmentHeader& h) { h.rings_offset += 64; },
      [](SegmentHeader& h) { h.response_arena_offset += 4096; },
      [](SegmentHeader& h) { h.request_arena_size += 64; },
      [](SegmentHeader& h) { h.request_arena_size = ~0ULL; },
      [](SegmentHeader& h) { h.response_arena_size *= 2; },
  };
  for (auto damage : damages) {
    const auto e = openError(damagedCopy(seg, [&](SegmentHeader& h, auto&) { damage(h); }));
    EXPECT_EQ(e.code, ErrorCode::badHeader) << e.message;
  }
}

TEST(Segment, OpenRefusesAnFdThatIsNotASegmentFile) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  ::close(p[1]);
  EXPECT_FALSE(Segment::open(p[0]));  // takes ownership and closes it
  EXPECT_EQ(::fcntl(p[0], F_GETFD), -1);
  EXPECT_FALSE(Segment::open(-1));
}

TEST(Segment, CheckHeaderNamesBothSizes) {
  auto seg = makeSegment();
  EXPECT_TRUE(checkHeader(seg.header(), seg.size()));
  auto s = checkHeader(seg.header(), seg.size() + 4096);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find(std::to_string(seg.size() + 4096)), std::string::npos);
}

// The peer can scribble over the shared header at any time; offsets keep coming from the copy
// checked at open.
TEST(Segment, GeometryComesFromThePrivateCopyNotTheSharedHeader) {
  auto seg = makeSegment(2, 8, 1 << 16);
  auto peer = Segment::open(::dup(seg.fd()));
  ASSERT_TRUE(peer);
  const auto before = peer->responseArena();
  Descriptor* slots = peer->requestSlots(1);
  seg.header().response_arena_offset = ~0ULL - 10;
  seg.header().response_arena_size = ~0ULL;
  seg.header().rings_offset = 1ULL << 40;
  EXPECT_EQ(peer->responseArena().offset, before.offset);
  EXPECT_EQ(peer->responseArena().size, before.size);
  EXPECT_EQ(peer->requestSlots(1), slots);
  EXPECT_FALSE(peer->view(peer->responseArena(), ~0ULL - 10, 4));
}

TEST(Segment, ViewChecksBoundsWithoutOverflow) {
  auto seg = makeSegment(1, 8, 1 << 16);
  const auto a = seg.responseArena();
  EXPECT_TRUE(seg.view(a, a.offset, a.size));
  EXPECT_TRUE(seg.view(a, a.offset + a.size, 0));
  EXPECT_TRUE(seg.view(a, a.offset + a.size - 1, 1));
  EXPECT_FALSE(seg.view(a, a.offset + a.size - 1, 2));
  EXPECT_FALSE(seg.view(a, a.offset - 1, 1));
  EXPECT_FALSE(seg.view(a, a.offset + 8, ~0ULL - 4));
  EXPECT_FALSE(seg.view(a, ~0ULL, 2));
  EXPECT_FALSE(seg.view(seg.requestArena(0), a.offset, 8)) << "a response block is not in the request arena";
  auto e = seg.view(a, 0, 8);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code, ErrorCode::corrupt);
  EXPECT_NE(e.error().message.find("outside its arena"), std::string::npos);
}

TEST(Segment, MovingTransfersOwnershipAndDestructionClosesTheFd) {
  const std::size_t before = countMemfds();
  {
    auto a = makeSegment();
    EXPECT_EQ(countMemfds(), before + 1);
    Segment b = std::move(a);
    EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): the moved-from state is the point
    EXPECT_TRUE(b.valid());
    Segment c;
    c = std::move(b);
    EXPECT_TRUE(c.valid());
    EXPECT_EQ(countMemfds(), before + 1);
  }
  EXPECT_EQ(countMemfds(), before);
}

TEST(Segment, ManySegmentsLeaveNothingBehind) {
  const std::size_t memfds = countMemfds(), devShm = countDevShm();
  for (int i = 0; i < 200; ++i) {
    auto s = makeSegment(2, 8, 1 << 16);
    auto peer = Segment::open(::dup(s.fd()));
    ASSERT_TRUE(peer);
  }
  EXPECT_EQ(countMemfds(), memfds);
  EXPECT_EQ(countDevShm(), devShm);
}
