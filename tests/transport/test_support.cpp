#include "test_support.hpp"

#include <dirent.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace ringserve::transport::testing {

std::size_t countMemfds() {
  std::size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    const auto target = std::filesystem::read_symlink(e.path(), ec);
    if (!ec && target.string().rfind("/memfd:", 0) == 0) ++n;
  }
  return n;
}

std::size_t countDevShm() {
  std::error_code ec;
  std::size_t n = 0;
  for (auto it = std::filesystem::directory_iterator("/dev/shm", ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec))
    ++n;
  return n;
}

Segment makeSegment(std::uint32_t lanes, std::uint32_t slots, std::uint64_t arenaBytes) {
  SegmentConfig c;
  c.lane_count = lanes;
  c.ring_slots = slots;
  c.request_arena_size = arenaBytes;
  c.response_arena_size = arenaBytes;
  auto s = Segment::create(c, "transport-test");
  EXPECT_TRUE(s) << s.error().message;
  return s ? std::move(s.value()) : Segment{};
}

namespace {
// Every test process (gtest_discover_tests runs one test per process) must end holding no more
// memfds than it started with, and must not have created anything in /dev/shm.
class NoSegmentLeftBehind : public ::testing::Environment {
 public:
  void SetUp() override {
    memfds_ = countMemfds();
    devShm_ = countDevShm();
  }
  void TearDown() override {
    EXPECT_EQ(countMemfds(), memfds_) << "a shared-memory segment was left open";
    EXPECT_EQ(countDevShm(), devShm_) << "an entry appeared in /dev/shm";
  }

 private:
  std::size_t memfds_ = 0;
  std::size_t devShm_ = 0;
};
[[maybe_unused]] auto* const kLeakCheck = ::testing::AddGlobalTestEnvironment(new NoSegmentLeftBehind);
}  // namespace

}  // namespace ringserve::transport::testing
