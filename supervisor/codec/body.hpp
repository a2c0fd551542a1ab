#pragma once
// Where the decoder reads a request body from. The HTTP layer's body is a libevent evbuffer
// (EvbufferBody in evbuffer_io.hpp); a gzip-decompressed body, tests and benchmarks use
// ContiguousBody. Reading copies: the decoder copies the JSON part once (into simdjson's padded
// buffer) and each binary tensor once, straight into its arena block.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace ringserve::supervisor::codec {

class BodySource {
 public:
  virtual ~BodySource() = default;
  virtual std::uint64_t size() const = 0;
  // Copies body bytes [offset, offset + dst.size()) into dst. The decoder only asks for ranges
  // inside [0, size()).
  virtual void copyOut(std::uint64_t offset, std::span<std::byte> dst) const = 0;
};

// A body that is already one contiguous buffer; does not own it.
class ContiguousBody final : public BodySource {
 public:
  explicit ContiguousBody(std::string_view bytes) : bytes_(bytes) {}
  std::uint64_t size() const override { return bytes_.size(); }
  void copyOut(std::uint64_t offset, std::span<std::byte> dst) const override {
    if (!dst.empty()) std::memcpy(dst.data(), bytes_.data() + offset, dst.size());
  }

 private:
  std::string_view bytes_;
};

}  // namespace ringserve::supervisor::codec
