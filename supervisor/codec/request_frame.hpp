#pragma once
// Writes the InferRequest frame (schema/worker.capnp) for a decoded request into the lane's
// arena, next to its tensors; the `infer` descriptor then points at it.
#include <cstdint>

#include "supervisor/codec/arena_target.hpp"
#include "supervisor/codec/request.hpp"
#include "supervisor/error.hpp"

namespace ringserve::supervisor::codec {

struct FrameLocation {
  std::uint64_t offset = 0;  // from the segment start
  std::uint64_t size = 0;    // bytes of the frame
};

Expected<FrameLocation> writeRequestFrame(const DecodedRequest& request, std::uint32_t modelHandle,
                                          ArenaTarget& target);

}  // namespace ringserve::supervisor::codec
