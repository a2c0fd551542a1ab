#pragma once
// The input format of the targets that read a worker's response (fuzz_response_reader,
// fuzz_batch_split): 2 bytes giving the frame's length in words, the frame (a Cap'n Proto
// InferResponse), then the bytes of the response arena the frame's outputs point into. Opened
// with the transport's checked reader, as the lane client does.
#include <capnp/common.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include "supervisor/error.hpp"
#include "transport/frame.hpp"
#include "worker.capnp.h"

namespace ringserve::fuzz {

// Not movable: the reader views the frame's words.
class ResponseInput {
 public:
  // `size` must be at least 2.
  ResponseInput(const std::uint8_t* data, std::size_t size) {
    const std::size_t words = static_cast<std::size_t>(data[0]) | static_cast<std::size_t>(data[1]) << 8;
    const std::size_t frameBytes = std::min(words * 8, size - 2);
    // Word-aligned, as frames sit aligned in the arena.
    frame_ = std::vector<capnp::word>((frameBytes + 7) / 8);  // capnp::word cannot be moved: no resize
    if (frameBytes > 0) std::memcpy(frame_.data(), data + 2, frameBytes);
    arena_.resize(size - 2 - frameBytes);
    if (!arena_.empty()) std::memcpy(arena_.data(), data + 2 + frameBytes, arena_.size());
    auto r = transport::FrameReader::open(std::as_bytes(std::span(frame_)).first(frameBytes));
    if (r) reader_.emplace(std::move(r.value()));
  }
  ResponseInput(const ResponseInput&) = delete;
  ResponseInput& operator=(const ResponseInput&) = delete;

  // The frame's InferResponse, or nullopt when the checked reader refuses it.
  std::optional<schema::InferResponse::Reader> root() {
    if (!reader_) return std::nullopt;
    auto root = reader_->root<schema::InferResponse>();
    if (!root) return std::nullopt;
    return root.value();
  }

  // The response arena, bounds-checked as Completion::outputBytes is.
  supervisor::Expected<std::span<const std::byte>> bytes(std::uint64_t offset, std::uint64_t n) const {
    if (offset > arena_.size() || n > arena_.size() - offset)
      return supervisor::internalError("outside the response arena");
    return std::span<const std::byte>(arena_.data() + offset, n);
  }

 private:
  std::vector<capnp::word> frame_;
  std::vector<std::byte> arena_;
  std::optional<transport::FrameReader> reader_;
};

}  // namespace ringserve::fuzz
