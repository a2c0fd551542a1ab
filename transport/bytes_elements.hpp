#pragma once
// The elements of a BYTES tensor: a u32 little-endian length, then that many bytes, back to back
// (the layout of the arena, the plugin ABI and the binary tensor extension). Read from a peer's or
// a client's bytes, so every length is checked against what remains. Each caller words its own
// errors (they name an input, an output or a request): this only walks.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string_view>

namespace ringserve::transport {

struct BytesWalk {
  enum class Stop {
    done,             // every element asked for was read (or the data ended between elements)
    truncatedLength,  // fewer than 4 bytes left where element `count`'s length should be
    pastEnd,          // element `count` claims `claimed` bytes but only `remaining` follow its length
  };
  Stop stop = Stop::done;
  std::uint64_t count = 0;      // elements read whole
  std::uint64_t end = 0;        // offset just after the last whole element
  std::uint64_t claimed = 0;    // pastEnd only
  std::uint64_t remaining = 0;  // pastEnd only
};

// kAllElements: as many elements as `data` holds, ending cleanly at its end. A number: exactly
// that many, so data that ends first is `truncatedLength` and bytes after them are left (the
// caller compares `end` with the size). `onElement(index, element)` sees each whole element.
inline constexpr std::uint64_t kAllElements = std::numeric_limits<std::uint64_t>::max();

template <class OnElement>
BytesWalk walkBytes(std::span<const std::byte> data, std::uint64_t elements, OnElement&& onElement) {
  BytesWalk w;
  std::uint64_t pos = 0;
  while (w.count < elements) {
    if (elements == kAllElements && pos == data.size()) break;
    if (data.size() - pos < 4) {
      w.stop = BytesWalk::Stop::truncatedLength;
      break;
    }
    std::uint32_t len = 0;
    std::memcpy(&len, data.data() + pos, 4);  // little-endian hosts only, as the whole transport
    pos += 4;
    if (len > data.size() - pos) {
      w.stop = BytesWalk::Stop::pastEnd;
      w.claimed = len;
      w.remaining = data.size() - pos;
      break;
    }
    onElement(w.count, std::string_view(reinterpret_cast<const char*>(data.data() + pos), len));
    pos += len;
    ++w.count;
    w.end = pos;
  }
  return w;
}

inline BytesWalk walkBytes(std::span<const std::byte> data, std::uint64_t elements = kAllElements) {
  return walkBytes(data, elements, [](std::uint64_t, std::string_view) {});
}

}  // namespace ringserve::transport
