#pragma once
// What the cross-process tests and transport_echo_peer agree on. Descriptors use their reserved
// words: reserved[0] = Mode, reserved[1] = payload bytes (raw mode), reserved[2] = checksum.
//  raw:   frame_offset/frame_size name raw payload bytes in the lane's request arena; the peer checks
//         reserved[2] == checksum(payload) and answers with a block in the response arena holding
//         transform(payload), reserved[2] = checksum of what it wrote.
//  capnp: the frame is an InferRequest whose inputs are raw tensors in the request arena and whose
//         `id` is the hex checksum over all inputs; the answer is an InferResponse whose outputs are
//         transform(input) each, and whose `id` is the hex checksum over all outputs.
//  sync:  the peer answers with reserved[1] = response-arena bytes still in use (everything posted
//         on that lane before it, releases included, has been handled: each ring is FIFO).
//  quit:  as sync, then the peer exits 0.
// A `release` descriptor frees every response block the peer allocated for that (lane, tag).
#include <cstdint>
#include <cstring>
#include <span>

namespace ringserve::transport::echo {

enum class Mode : std::uint64_t { raw = 1, capnp = 2, quit = 3, sync = 4 };

// 64-bit multiply-xorshift over 8-byte words (and the tail), seeded with the length. Not
// cryptographic: it catches torn, stale, shifted or foreign bytes.
inline std::uint64_t checksum(std::span<const std::byte> bytes) {
  std::uint64_t h = 0x9E3779B97F4A7C15ULL ^ bytes.size();
  std::size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, bytes.data() + i, 8);
    h = (h ^ w) * 0xBF58476D1CE4E5B9ULL;
    h ^= h >> 31;
  }
  std::uint64_t tail = 0;
  std::memcpy(&tail, bytes.data() + i, bytes.size() - i);
  h = (h ^ tail) * 0x94D049BB133111EBULL;
  return h ^ (h >> 29);
}

// What the peer writes back: every byte complemented, so an echo of the request would fail.
inline void transform(std::span<const std::byte> in, std::byte* out) {
  std::size_t i = 0;
  for (; i + 8 <= in.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, in.data() + i, 8);
    w = ~w;
    std::memcpy(out + i, &w, 8);
  }
  for (; i < in.size(); ++i) out[i] = ~in[i];
}

}  // namespace ringserve::transport::echo

namespace ringserve::transport::echo {
// Folds one tensor's checksum into a request's or response's running checksum.
inline std::uint64_t combine(std::uint64_t acc, std::uint64_t h) { return (acc ^ h) * 0xD6E8FEB86659FD93ULL + 1; }
}  // namespace ringserve::transport::echo
