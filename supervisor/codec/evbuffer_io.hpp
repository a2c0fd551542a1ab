#pragma once
// The codec's body and sink over libevent evbuffers, for the HTTP layer.
#include <event2/buffer.h>

#include <cstdint>
#include <span>
#include <string_view>

#include "supervisor/codec/body.hpp"
#include "supervisor/codec/response_encoder.hpp"

namespace ringserve::supervisor::codec {

// Reads a request's input evbuffer in place (evbuffer_copyout_from): binary tensors go from the
// socket's buffer into the arena with one copy. Does not own the buffer.
class EvbufferBody final : public BodySource {
 public:
  explicit EvbufferBody(evbuffer* buffer) : buffer_(buffer) {}
  std::uint64_t size() const override;
  void copyOut(std::uint64_t offset, std::span<std::byte> dst) const override;

 private:
  evbuffer* buffer_;
};

// Appends to a reply evbuffer: copies with evbuffer_add, references with evbuffer_add_reference.
// `cleanup(arg)` runs (from libevent, once per reference) when libevent is done with the bytes
// of a referenced span; null when the caller tracks lifetime itself.
class EvbufferSink final : public OutputSink {
 public:
  using Cleanup = void (*)(const void* data, std::size_t len, void* arg);
  EvbufferSink(evbuffer* buffer, Cleanup cleanup, void* cleanupArg)
      : buffer_(buffer), cleanup_(cleanup), arg_(cleanupArg) {}
  void appendCopy(std::string_view bytes) override;
  void appendReference(std::span<const std::byte> bytes) override;
  std::size_t references() const { return references_; }

 private:
  evbuffer* buffer_;
  Cleanup cleanup_;
  void* arg_;
  std::size_t references_ = 0;
};

}  // namespace ringserve::supervisor::codec
