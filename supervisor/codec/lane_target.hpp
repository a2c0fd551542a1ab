#pragma once
// ArenaTarget over a transport::SupervisorLane: allocates from the lane's request arena and keeps
// the offsets so the request's owner can free them all when the worker has answered (or the
// decode failed). Not thread-safe: used by the lane's own HTTP loop thread.
#include <cstdint>
#include <vector>

#include "supervisor/codec/arena_target.hpp"
#include "transport/endpoint.hpp"

namespace ringserve::supervisor::codec {

class LaneArenaTarget final : public ArenaTarget {
 public:
  explicit LaneArenaTarget(transport::SupervisorLane& lane) : lane_(&lane) {}
  // Frees whatever is still held (a request that never reached the worker).
  ~LaneArenaTarget() override { freeAll(); }
  LaneArenaTarget(LaneArenaTarget&& other) noexcept : lane_(other.lane_), blocks_(std::move(other.blocks_)) {
    other.blocks_.clear();
  }
  LaneArenaTarget& operator=(LaneArenaTarget&&) = delete;
  LaneArenaTarget(const LaneArenaTarget&) = delete;
  LaneArenaTarget& operator=(const LaneArenaTarget&) = delete;

  // Arena full -> 503 with the transport's message (names shm_size); anything else -> 500.
  Expected<ArenaBlock> allocate(std::uint64_t bytes) override;
  // Gives every block back to the lane's arena (call when the worker's response has arrived).
  void freeAll();
  const std::vector<std::uint64_t>& blocks() const { return blocks_; }

 private:
  transport::SupervisorLane* lane_;
  std::vector<std::uint64_t> blocks_;
};

}  // namespace ringserve::supervisor::codec
