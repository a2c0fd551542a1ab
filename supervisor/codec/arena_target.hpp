#pragma once
// Where the decoder puts tensors: blocks of the target worker lane's request arena.
#include <cstdint>
#include <span>

#include "supervisor/error.hpp"

namespace ringserve::supervisor::codec {

struct ArenaBlock {
  std::uint64_t offset = 0;    // from the segment start: what goes into TensorRef.offset
  std::span<std::byte> bytes;  // exactly the requested size, writable, 64-byte aligned
};

class ArenaTarget {
 public:
  virtual ~ArenaTarget() = default;
  // A block of `bytes` (0 is allowed and yields an empty span with a valid offset). An error
  // (unavailable, naming shm_size when the arena is full) aborts the decode. The implementation remembers
  // what it handed out: the decoder never frees, so on a failed decode, and after the worker's
  // response, the caller frees every block allocated through the target for that request.
  virtual Expected<ArenaBlock> allocate(std::uint64_t bytes) = 0;
};

}  // namespace ringserve::supervisor::codec
