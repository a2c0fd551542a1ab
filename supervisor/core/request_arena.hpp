#pragma once
// The codec's ArenaTarget over a LaneClient, for one request: remembers its blocks so they can be
// handed to LaneClient::submit (freed when the worker answers) or freed here if the request never
// gets that far.
#include <vector>

#include "supervisor/codec/arena_target.hpp"
#include "supervisor/core/lane_client.hpp"

namespace ringserve::supervisor {

class RequestArena final : public codec::ArenaTarget {
 public:
  explicit RequestArena(LaneClient& lane) : lane_(lane) {}
  ~RequestArena() override {
    for (auto b : blocks_) lane_.free(b);
  }
  RequestArena(const RequestArena&) = delete;
  RequestArena& operator=(const RequestArena&) = delete;

  Expected<codec::ArenaBlock> allocate(std::uint64_t bytes) override {
    auto off = lane_.allocate(bytes);
    if (!off) return off.error();
    blocks_.push_back(off.value());
    return codec::ArenaBlock{off.value(), lane_.bytes(off.value(), bytes)};
  }
  LaneClient& lane() const { return lane_; }
  // The blocks, now owned by whoever takes them.
  std::vector<std::uint64_t> take() { return std::exchange(blocks_, {}); }

 private:
  LaneClient& lane_;
  std::vector<std::uint64_t> blocks_;
};

}  // namespace ringserve::supervisor
