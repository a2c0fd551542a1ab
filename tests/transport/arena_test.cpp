// ArenaAllocator: alignment, exhaustion (with the error users see), fragmentation and coalescing.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "transport/arena.hpp"
#include "transport/bug.hpp"
#include "transport/layout.hpp"

using namespace ringserve::transport;

namespace {
constexpr std::uint64_t kBase = 1 << 20;  // arenas start somewhere inside a segment
ArenaAllocator arena(std::uint64_t size) { return ArenaAllocator(kBase, size, "request arena of lane 0", 256 << 20); }
}  // namespace

TEST(Arena, BlocksAreAlignedInsideAndDisjoint) {
  auto a = arena(1 << 16);
  std::vector<std::pair<std::uint64_t, std::uint64_t>> got;
  for (std::uint64_t bytes : {1, 63, 64, 65, 100, 4096, 0}) {
    auto off = a.allocate(bytes);
    ASSERT_TRUE(off) << off.error().message;
    EXPECT_EQ(off.value() % kArenaAlignment, 0u);
    EXPECT_GE(off.value(), kBase);
    EXPECT_GE(a.blockSize(off.value()), std::max<std::uint64_t>(bytes, 1));
    EXPECT_LE(off.value() + a.blockSize(off.value()), kBase + (1 << 16));
    got.emplace_back(off.value(), a.blockSize(off.value()));
  }
  std::sort(got.begin(), got.end());
  for (std::size_t i = 1; i < got.size(); ++i) EXPECT_LE(got[i - 1].first + got[i - 1].second, got[i].first);
  EXPECT_EQ(a.blocks(), 7u);
}

TEST(Arena, ExhaustionNamesShmSizeAndTheSizes) {
  auto a = arena(1 << 20);
  ASSERT_TRUE(a.allocate(600 << 10));
  auto r = a.allocate(512 << 10);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::arenaFull);
  const std::string& m = r.error().message;
  EXPECT_NE(m.find("512.0 KiB"), std::string::npos) << m;          // the request
  EXPECT_NE(m.find("request arena of lane 0"), std::string::npos) << m;
  EXPECT_NE(m.find("1.0 MiB"), std::string::npos) << m;            // the arena
  EXPECT_NE(m.find("shm_size=256.0 MiB"), std::string::npos) << m; // the setting
  EXPECT_NE(m.find("600.0 KiB in use"), std::string::npos) << m;
  EXPECT_NE(m.find("largest free block 424.0 KiB"), std::string::npos) << m;
}

TEST(Arena, AHugeRequestIsAnErrorNotAnOverflow) {
  auto a = arena(1 << 16);
  for (std::uint64_t bytes : {~std::uint64_t{0}, ~std::uint64_t{0} - 10, std::uint64_t{1} << 63}) {
    auto r = a.allocate(bytes);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::arenaFull);
  }
  EXPECT_EQ(a.used(), 0u);
}

TEST(Arena, FragmentedArenaRefusesWhatWouldFitInTotalThenCoalesces) {
  const std::uint64_t block = 4096;
  auto a = arena(64 * block);
  std::vector<std::uint64_t> offs;
  for (int i = 0; i < 64; ++i) offs.push_back(a.allocate(block).value());
  EXPECT_FALSE(a.allocate(1));
  for (int i = 0; i < 64; i += 2) a.free(offs[i]);  // half free, in 32 separate holes
  EXPECT_EQ(a.used(), 32 * block);
  EXPECT_EQ(a.largestFree(), block);
  auto r = a.allocate(2 * block);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("largest free block 4.0 KiB"), std::string::npos) << r.error().message;
  for (int i = 1; i < 64; i += 2) a.free(offs[i]);  // each free merges with both neighbours
  EXPECT_EQ(a.used(), 0u);
  EXPECT_EQ(a.blocks(), 0u);
  EXPECT_EQ(a.largestFree(), 64 * block);
  EXPECT_TRUE(a.allocate(64 * block));
}

TEST(Arena, CoalescesWithThePrecedingTheFollowingAndBothNeighbours) {
  auto a = arena(4 * 64);
  auto b0 = a.allocate(64).value(), b1 = a.allocate(64).value(), b2 = a.allocate(64).value(),
       b3 = a.allocate(64).value();
  a.free(b1);
  a.free(b2);  // merges with the preceding hole
  EXPECT_EQ(a.largestFree(), 128u);
  a.free(b0);  // merges with the following hole
  EXPECT_EQ(a.largestFree(), 192u);
  a.free(b3);  // and the last one closes the arena
  EXPECT_EQ(a.largestFree(), 256u);
}

TEST(Arena, BestFitKeepsLargeHolesForLargeBlocks) {
  auto a = arena(16 * 64);
  auto small = a.allocate(64).value();
  auto sep1 = a.allocate(64).value();
  auto large = a.allocate(8 * 64).value();
  auto sep2 = a.allocate(64).value();
  (void)sep1;
  (void)sep2;
  a.free(small);
  a.free(large);
  // A 64-byte request goes into the 64-byte hole, leaving the 512-byte hole whole.
  EXPECT_EQ(a.allocate(64).value(), small);
  EXPECT_EQ(a.allocate(8 * 64).value(), large);
}

TEST(Arena, FreeingWhatWasNeverAllocatedIsABugReportedCountedAndIgnored) {
  auto a = arena(1 << 12);
  auto off = a.allocate(64).value();
  std::vector<std::string> lines;
  setBugSink([&](std::string_view line) { lines.emplace_back(line); });
  {
    ScopedBugExpectation expect;  // a debug build would abort on these otherwise
    a.free(off + 64);
    a.free(12345);
    a.free(off);
    a.free(off);  // double free
    EXPECT_EQ(expect.reported(), 3u);
  }
  setBugSink(nullptr);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_NE(lines[1].find("BUG in ringserve (arena free): "), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("offset 12345 is not a live block"), std::string::npos) << lines[1];
  EXPECT_EQ(a.badFrees(), 3u);
  EXPECT_EQ(a.used(), 0u);
  EXPECT_EQ(a.largestFree(), 1u << 12);
}

TEST(Arena, ResetGivesEverythingBack) {
  auto a = arena(1 << 12);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(a.allocate(100));
  a.reset();
  EXPECT_EQ(a.used(), 0u);
  EXPECT_EQ(a.blocks(), 0u);
  EXPECT_EQ(a.largestFree(), 1u << 12);
}

TEST(Arena, ASizeThatIsNotAMultipleOfTheAlignmentIsRoundedDown) {
  ArenaAllocator a(kBase, 1000, "response arena", 0);
  EXPECT_EQ(a.size(), 960u);
  EXPECT_TRUE(a.allocate(960));
  EXPECT_FALSE(a.allocate(1));
}

// Random allocations and frees against a model of which bytes are in use: blocks never overlap,
// `used` is exact, and once everything is freed the arena is one block again.
TEST(Arena, RandomAllocateFreeKeepsItsInvariants) {
  const std::uint64_t size = 1 << 20;
  auto a = arena(size);
  std::mt19937_64 rng(42);
  std::map<std::uint64_t, std::uint64_t> live;  // offset -> block size
  std::uint64_t used = 0;
  for (int step = 0; step < 200000; ++step) {
    if (live.empty() || rng() % 100 < 55) {
      const std::uint64_t bytes = rng() % 3 == 0 ? rng() % 65536 : rng() % 512;
      auto r = a.allocate(bytes);
      if (!r) {
        ASSERT_LT(a.largestFree(), bytes);
        continue;
      }
      const std::uint64_t off = r.value(), len = a.blockSize(off);
      auto next = live.lower_bound(off);
      if (next != live.end()) {
        ASSERT_LE(off + len, next->first);
      }
      if (next != live.begin()) {
        ASSERT_LE(std::prev(next)->first + std::prev(next)->second, off);
      }
      ASSERT_GE(off, kBase);
      ASSERT_LE(off + len, kBase + size);
      live.emplace(off, len);
      used += len;
    } else {
      auto it = live.begin();
      std::advance(it, static_cast<long>(rng() % live.size()));
      a.free(it->first);
      used -= it->second;
      live.erase(it);
    }
    ASSERT_EQ(a.used(), used);
  }
  for (const auto& [off, len] : live) a.free(off);
  EXPECT_EQ(a.used(), 0u);
  EXPECT_EQ(a.largestFree(), size);
  EXPECT_EQ(a.badFrees(), 0u);
}

TEST(Arena, FormatBytes) {
  EXPECT_EQ(formatBytes(0), "0 B");
  EXPECT_EQ(formatBytes(1023), "1023 B");
  EXPECT_EQ(formatBytes(1536), "1.5 KiB");
  EXPECT_EQ(formatBytes(64ULL << 20), "64.0 MiB");
  EXPECT_EQ(formatBytes(3ULL << 30), "3.0 GiB");
}
