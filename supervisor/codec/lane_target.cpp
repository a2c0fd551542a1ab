#include "supervisor/codec/lane_target.hpp"

namespace ringserve::supervisor::codec {

Expected<ArenaBlock> LaneArenaTarget::allocate(std::uint64_t bytes) {
  auto offset = lane_->allocate(bytes);
  if (!offset) {
    const auto& e = offset.error();
    return e.code == transport::ErrorCode::arenaFull ? unavailable(e.message) : internalError(e.message);
  }
  blocks_.push_back(*offset);
  return ArenaBlock{*offset, std::span<std::byte>(lane_->at(*offset), bytes)};
}

void LaneArenaTarget::freeAll() {
  for (auto offset : blocks_) lane_->free(offset);
  blocks_.clear();
}

}  // namespace ringserve::supervisor::codec
