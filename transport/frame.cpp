#include "transport/frame.hpp"

#include <kj/io.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ringserve::transport {

capnp::ReaderOptions frameReaderOptions(std::uint64_t frameBytes) {
  capnp::ReaderOptions o;
  o.traversalLimitInWords = frameBytes / 8 * 4 + 64;
  o.nestingLimit = 16;
  return o;
}

std::uint64_t frameSize(capnp::MessageBuilder& message) {
  return capnp::computeSerializedSizeInWords(message) * sizeof(capnp::word);
}

void writeFrame(capnp::MessageBuilder& message, std::span<std::byte> dst) {
  kj::ArrayOutputStream out(kj::arrayPtr(reinterpret_cast<kj::byte*>(dst.data()), dst.size()));
  capnp::writeMessage(out, message);
}

Result<FrameReader> FrameReader::open(std::span<const std::byte> bytes) {
  if (bytes.size() % sizeof(capnp::word) != 0 || reinterpret_cast<std::uintptr_t>(bytes.data()) % alignof(capnp::word) != 0)
    return makeError(ErrorCode::corrupt, "frame of " + std::to_string(bytes.size()) + " bytes is not word-aligned");
  if (bytes.empty()) return makeError(ErrorCode::corrupt, "empty frame");
  FrameReader r;
  try {
    r.reader_ = std::make_unique<capnp::FlatArrayMessageReader>(
        kj::arrayPtr(reinterpret_cast<const capnp::word*>(bytes.data()), bytes.size() / sizeof(capnp::word)),
        frameReaderOptions(bytes.size()));
  } catch (const kj::Exception& e) {
    return makeError(ErrorCode::corrupt, std::string("malformed frame: ") + e.getDescription().cStr());
  }
  return r;
}

std::vector<std::byte> encodeStreamFrame(capnp::MessageBuilder& message) {
  const std::uint64_t n = frameSize(message);
  std::vector<std::byte> out(4 + n);
  const auto len = static_cast<std::uint32_t>(n);
  for (int i = 0; i < 4; ++i) out[i] = static_cast<std::byte>((len >> (8 * i)) & 0xff);
  kj::ArrayOutputStream os(kj::arrayPtr(reinterpret_cast<kj::byte*>(out.data() + 4), n));
  capnp::writeMessage(os, message);
  return out;
}

namespace {
std::uint32_t readLe32(const std::byte* p) {
  return std::to_integer<std::uint32_t>(p[0]) | std::to_integer<std::uint32_t>(p[1]) << 8 |
         std::to_integer<std::uint32_t>(p[2]) << 16 | std::to_integer<std::uint32_t>(p[3]) << 24;
}

Status checkLength(std::uint32_t len, std::uint32_t max) {
  if (len > max)
    return makeError(ErrorCode::tooLarge,
                     "frame of " + std::to_string(len) + " bytes exceeds the limit of " + std::to_string(max));
  if (len == 0 || len % sizeof(capnp::word) != 0)
    return makeError(ErrorCode::corrupt, "frame length " + std::to_string(len) + " is not a positive multiple of 8");
  return Ok{};
}
}  // namespace

void StreamFrameDecoder::feed(std::span<const std::byte> bytes) {
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  }
  buf_.insert(buf_.end(), bytes.begin(), bytes.end());
}

Result<std::optional<std::vector<capnp::word>>> StreamFrameDecoder::next() {
  if (buf_.size() - pos_ < 4) return std::optional<std::vector<capnp::word>>{};
  const std::uint32_t len = readLe32(buf_.data() + pos_);
  if (auto s = checkLength(len, max_); !s) return s.error();
  if (buf_.size() - pos_ - 4 < len) return std::optional<std::vector<capnp::word>>{};
  std::vector<capnp::word> words(len / sizeof(capnp::word));
  std::memcpy(words.data(), buf_.data() + pos_ + 4, len);
  pos_ += 4 + len;
  if (pos_ > 65536 && pos_ * 2 > buf_.size()) {
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(pos_));
    pos_ = 0;
  }
  return std::optional<std::vector<capnp::word>>(std::move(words));
}

Status writeStreamFrame(int fd, capnp::MessageBuilder& message) {
  const auto bytes = encodeStreamFrame(message);
  std::size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE || errno == ECONNRESET) return makeError(ErrorCode::closed, "peer closed the channel");
      return systemError("writing a frame");
    }
    off += static_cast<std::size_t>(n);
  }
  return Ok{};
}

namespace {
// Ok(true) when `len` bytes were read, Ok(false) on EOF before the first byte.
Result<bool> readFully(int fd, void* dst, std::size_t len) {
  std::size_t off = 0;
  while (off < len) {
    const ssize_t n = ::read(fd, static_cast<char*>(dst) + off, len - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return systemError("reading a frame");
    }
    if (n == 0) {
      if (off == 0) return false;
      return makeError(ErrorCode::corrupt, "channel closed in the middle of a frame");
    }
    off += static_cast<std::size_t>(n);
  }
  return true;
}
}  // namespace

Result<std::vector<capnp::word>> readStreamFrame(int fd, std::uint32_t maxFrameBytes) {
  std::byte hdr[4];
  auto r = readFully(fd, hdr, 4);
  if (!r) return r.error();
  if (!r.value()) return makeError(ErrorCode::closed, "peer closed the channel");
  const std::uint32_t len = readLe32(hdr);
  if (auto s = checkLength(len, maxFrameBytes); !s) return s.error();
  std::vector<capnp::word> words(len / sizeof(capnp::word));
  auto r2 = readFully(fd, words.data(), len);
  if (!r2) return r2.error();
  if (!r2.value()) return makeError(ErrorCode::corrupt, "channel closed in the middle of a frame");
  return words;
}

Result<OwnedFrame> OwnedFrame::parse(std::vector<capnp::word> words) {
  OwnedFrame f;
  f.words_ = std::move(words);
  try {
    f.reader_ = std::make_unique<capnp::FlatArrayMessageReader>(kj::arrayPtr(f.words_.data(), f.words_.size()),
                                                                frameReaderOptions(f.words_.size() * sizeof(capnp::word)));
  } catch (const kj::Exception& e) {
    return makeError(ErrorCode::corrupt, std::string("malformed frame: ") + e.getDescription().cStr());
  }
  return f;
}

}  // namespace ringserve::transport
