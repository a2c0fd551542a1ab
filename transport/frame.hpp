#pragma once
// Cap'n Proto messages as frames, in two places:
//  - arena frames: a message written into an arena block and read in place by the peer, through
//    a descriptor's (offset, size). Reading checks the bounds against the sender's arena and reads
//    with explicit ReaderOptions, so a corrupt frame is a TransportError, never a wild read.
//  - stream frames (control channel, control socket): u32 little-endian byte count, then the
//    message in Cap'n Proto's flat-array form. The byte count is checked against a limit before
//    anything is buffered.
#include <capnp/message.h>
#include <capnp/serialize.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "transport/error.hpp"

namespace ringserve::transport {

// Reader limits for frames from a peer: nesting as deep as our schemas need, and a traversal
// budget proportional to the frame so a small frame cannot make us walk gigabytes.
capnp::ReaderOptions frameReaderOptions(std::uint64_t frameBytes);

// Serialized size of `message` in bytes (flat-array form, segment table included).
std::uint64_t frameSize(capnp::MessageBuilder& message);
// Writes `message` into `dst`, which must be frameSize() bytes and 8-byte aligned.
void writeFrame(capnp::MessageBuilder& message, std::span<std::byte> dst);

// A frame read in place. The bytes must stay mapped while the reader is used; the caller keeps
// the arena block alive until then.
class FrameReader {
 public:
  static Result<FrameReader> open(std::span<const std::byte> bytes);
  template <class T>
  Result<typename T::Reader> root() {
    try {
      return reader_->getRoot<T>();
    } catch (const kj::Exception& e) {
      return makeError(ErrorCode::corrupt, std::string("malformed frame: ") + e.getDescription().cStr());
    }
  }

 private:
  std::unique_ptr<capnp::FlatArrayMessageReader> reader_;
};

// Reading fields of a peer's frame may throw kj::Exception after root() succeeded (a pointer out
// of bounds, the traversal limit reached). Run the whole read inside readGuarded to get a
// TransportError instead; `f` returns the value read, e.g. a struct of copied fields.
template <class F>
auto readGuarded(F&& f) -> Result<std::invoke_result_t<F>> {
  try {
    return std::forward<F>(f)();
  } catch (const kj::Exception& e) {
    return makeError(ErrorCode::corrupt, std::string("malformed frame: ") + e.getDescription().cStr());
  }
}

// --- stream frames ---

inline constexpr std::uint32_t kMaxControlFrame = 1u << 20;  // worker control channel
std::vector<std::byte> encodeStreamFrame(capnp::MessageBuilder& message);

// Accumulates bytes from a non-blocking socket and yields whole frames.
class StreamFrameDecoder {
 public:
  explicit StreamFrameDecoder(std::uint32_t maxFrameBytes) : max_(maxFrameBytes) {}
  void feed(std::span<const std::byte> bytes);
  // A complete frame's message bytes (8-byte aligned storage), nothing yet, or an error for an
  // oversized or misaligned length; after an error the stream is unusable.
  Result<std::optional<std::vector<capnp::word>>> next();
  std::size_t buffered() const { return buf_.size() - pos_; }

 private:
  std::uint32_t max_;
  std::vector<std::byte> buf_;
  std::size_t pos_ = 0;
};

// Blocking helpers for the worker's control thread and the `ctl` client.
Status writeStreamFrame(int fd, capnp::MessageBuilder& message);
// Reads one frame; ErrorCode::closed on a clean EOF before the first byte.
Result<std::vector<capnp::word>> readStreamFrame(int fd, std::uint32_t maxFrameBytes);

// Parses a frame produced by the decoders above, with the same reader limits.
class OwnedFrame {
 public:
  static Result<OwnedFrame> parse(std::vector<capnp::word> words);
  template <class T>
  Result<typename T::Reader> root() {
    try {
      return reader_->getRoot<T>();
    } catch (const kj::Exception& e) {
      return makeError(ErrorCode::corrupt, std::string("malformed frame: ") + e.getDescription().cStr());
    }
  }

 private:
  std::vector<capnp::word> words_;
  std::unique_ptr<capnp::FlatArrayMessageReader> reader_;
};

}  // namespace ringserve::transport
