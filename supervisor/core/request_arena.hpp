#pragma once
// The codec's ArenaTarget over a LaneClient, for one request: remembers its blocks so they can be
// handed to LaneClient::submit (freed when the worker answers) or freed here if the request never
// gets that far. Movable, so a request that waits in a batch (dispatch/batcher.hpp) keeps its
// blocks without a heap allocation on every request; the lane must outlive it.
#include <utility>
#include <vector>

#include "supervisor/codec/arena_target.hpp"
#include "supervisor/core/lane_client.hpp"

namespace ringserve::supervisor {

class RequestArena final : public codec::ArenaTarget {
 public:
  explicit RequestArena(LaneClient& lane) : lane_(&lane) {}
  ~RequestArena() override { freeAll(); }
  RequestArena(const RequestArena&) = delete;
  RequestArena& operator=(const RequestArena&) = delete;
  RequestArena(RequestArena&& o) noexcept : lane_(o.lane_), blocks_(std::exchange(o.blocks_, {})) {}
  RequestArena& operator=(RequestArena&& o) noexcept {
    if (this != &o) {
      freeAll();
      lane_ = o.lane_;
      blocks_ = std::exchange(o.blocks_, {});
    }
    return *this;
  }

  Expected<codec::ArenaBlock> allocate(std::uint64_t bytes) override {
    auto off = lane_->allocate(bytes);
    if (!off) return off.error();
    blocks_.push_back(off.value());
    return codec::ArenaBlock{off.value(), lane_->bytes(off.value(), bytes)};
  }
  LaneClient& lane() const { return *lane_; }
  void freeAll() {
    for (auto b : std::exchange(blocks_, {})) lane_->free(b);
  }
  // The blocks, now owned by whoever takes them.
  std::vector<std::uint64_t> take() { return std::exchange(blocks_, {}); }

 private:
  LaneClient* lane_;
  std::vector<std::uint64_t> blocks_;
};

}  // namespace ringserve::supervisor
