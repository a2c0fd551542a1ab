#include "transport/arena.hpp"

#include <cstdio>

#include "transport/bug.hpp"
#include "transport/layout.hpp"

namespace ringserve::transport {

std::string formatBytes(std::uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024.0 && u < 4) {
    v /= 1024.0;
    ++u;
  }
  char buf[32];
  if (u == 0)
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  else
    std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

ArenaAllocator::ArenaAllocator(std::uint64_t offset, std::uint64_t size, std::string what,
                               std::uint64_t shmSizeSetting)
    : offset_(offset), size_(size / kArenaAlignment * kArenaAlignment), what_(std::move(what)),
      shmSizeSetting_(shmSizeSetting) {
  reset();
}

void ArenaAllocator::reset() {
  freeByOffset_.clear();
  freeBySize_.clear();
  live_.clear();
  used_ = 0;
  if (size_ > 0) insertFree(offset_, size_);
}

void ArenaAllocator::insertFree(std::uint64_t off, std::uint64_t len) {
  freeByOffset_.emplace(off, len);
  freeBySize_.emplace(len, off);
}

void ArenaAllocator::eraseFree(std::uint64_t off, std::uint64_t len) {
  freeByOffset_.erase(off);
  freeBySize_.erase({len, off});
}

Result<std::uint64_t> ArenaAllocator::allocate(std::uint64_t bytes) {
  const std::uint64_t want = bytes == 0 ? kArenaAlignment : (bytes + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment;
  if (want < bytes) return makeError(ErrorCode::arenaFull, "allocation size overflows");
  auto it = freeBySize_.lower_bound({want, 0});
  if (it == freeBySize_.end()) {
    return makeError(ErrorCode::arenaFull,
                     "a payload of " + formatBytes(bytes) + " does not fit in the " + what_ + " (" + formatBytes(size_) +
                         " of shm_size=" + formatBytes(shmSizeSetting_) + ", " + formatBytes(used_) +
                         " in use, largest free block " + formatBytes(largestFree()) +
                         "); raise shm_size in settings.json or RINGSERVE_SHM_SIZE");
  }
  const auto [len, off] = *it;
  eraseFree(off, len);
  if (len > want) insertFree(off + want, len - want);
  live_.emplace(off, want);
  used_ += want;
  return off;
}

void ArenaAllocator::free(std::uint64_t offset) {
  auto it = live_.find(offset);
  if (RINGSERVE_BUG_IF(it == live_.end(), "arena free",
                       what_ + ": offset " + std::to_string(offset) + " is not a live block (double free?)")) {
    ++badFrees_;
    return;
  }
  std::uint64_t off = it->first;
  std::uint64_t len = it->second;
  live_.erase(it);
  used_ -= len;
  // Coalesce with the following free block, then with the preceding one.
  auto next = freeByOffset_.lower_bound(off);
  if (next != freeByOffset_.end() && next->first == off + len) {
    len += next->second;
    eraseFree(next->first, next->second);
  }
  auto after = freeByOffset_.lower_bound(off);
  if (after != freeByOffset_.begin()) {
    auto prev = std::prev(after);
    if (prev->first + prev->second == off) {
      off = prev->first;
      len += prev->second;
      eraseFree(prev->first, prev->second);
    }
  }
  insertFree(off, len);
}

std::uint64_t ArenaAllocator::largestFree() const {
  return freeBySize_.empty() ? 0 : freeBySize_.rbegin()->first;
}

std::uint64_t ArenaAllocator::blockSize(std::uint64_t offset) const {
  auto it = live_.find(offset);
  return it == live_.end() ? 0 : it->second;
}

}  // namespace ringserve::transport
