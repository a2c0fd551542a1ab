#pragma once
// A fake lane arena for codec tests: one aligned buffer standing in for the segment, blocks handed
// out in order; `offset` is from the buffer start as TensorRef offsets are from the segment start.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "supervisor/codec/arena_target.hpp"

namespace ringserve::supervisor::codec::testing {

class TestArena final : public ArenaTarget {
 public:
  explicit TestArena(std::size_t capacity = 1 << 20)
      : capacity_(capacity), base_(static_cast<std::byte*>(std::aligned_alloc(64, capacity + 64))) {}
  ~TestArena() override { std::free(base_); }
  TestArena(const TestArena&) = delete;
  TestArena& operator=(const TestArena&) = delete;

  Expected<ArenaBlock> allocate(std::uint64_t bytes) override {
    const std::uint64_t rounded = (bytes + 63) / 64 * 64;
    if (used_ + rounded > capacity_) return unavailable("arena full (raise shm_size)");
    const std::uint64_t offset = used_ + 64;  // offset 0 is the "segment header"
    used_ += rounded == 0 ? 64 : rounded;
    ++allocations_;
    return ArenaBlock{offset, std::span<std::byte>(base_ + offset - 64, bytes)};
  }
  std::span<const std::byte> view(std::uint64_t offset, std::uint64_t size) const {
    return {base_ + offset - 64, size};
  }
  std::string_view text(std::uint64_t offset, std::uint64_t size) const {
    return {reinterpret_cast<const char*>(base_ + offset - 64), size};
  }
  bool contains(const void* p) const {
    auto* b = static_cast<const std::byte*>(p);
    return b >= base_ && b < base_ + capacity_;
  }
  // What ResponseEncoder needs: a bounds-checked view of [offset, offset+size).
  Expected<std::span<const std::byte>> checkedView(std::uint64_t offset, std::uint64_t size) const {
    if (offset < 64 || offset - 64 > capacity_ || size > capacity_ - (offset - 64)) {
      return internalError("output outside the response arena");
    }
    return view(offset, size);
  }
  int allocations() const { return allocations_; }

 private:
  std::size_t capacity_;
  std::byte* base_;
  std::uint64_t used_ = 0;
  int allocations_ = 0;
};

template <class T>
std::vector<T> valuesAt(const TestArena& arena, std::uint64_t offset, std::uint64_t size) {
  std::vector<T> v(size / sizeof(T));
  if (!v.empty()) std::memcpy(v.data(), arena.view(offset, size).data(), size);
  return v;
}

}  // namespace ringserve::supervisor::codec::testing
