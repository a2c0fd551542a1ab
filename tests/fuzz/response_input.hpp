#pragma once
// The input format of the targets that read a worker's response (fuzz_response_reader,
// fuzz_batch_split): 2 bytes giving the frame's length in words, the frame (a Cap'n Proto
// InferResponse), then the bytes of the response arena the frame's outputs point into.
#include <capnp/common.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace ringserve::fuzz {

struct ResponseInput {
  std::vector<capnp::word> frame;  // word-aligned copy, as frames sit aligned in the arena
  std::size_t frameBytes = 0;
  std::vector<std::byte> arena;
};

// `size` must be at least 2.
inline ResponseInput splitResponseInput(const std::uint8_t* data, std::size_t size) {
  ResponseInput in;
  const std::size_t words = static_cast<std::size_t>(data[0]) | static_cast<std::size_t>(data[1]) << 8;
  in.frameBytes = std::min(words * 8, size - 2);
  in.frame = std::vector<capnp::word>((in.frameBytes + 7) / 8);  // capnp::word cannot be moved: no resize
  if (in.frameBytes > 0) std::memcpy(in.frame.data(), data + 2, in.frameBytes);
  in.arena.resize(size - 2 - in.frameBytes);
  if (!in.arena.empty()) std::memcpy(in.arena.data(), data + 2 + in.frameBytes, in.arena.size());
  return in;
}

}  // namespace ringserve::fuzz
