#pragma once
// Internal to the request decoder (request_decoder.cpp, json_data.cpp, raw_request.cpp): the
// text helpers its messages share. Not part of codec's interface.
#include <simdjson.h>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

#include "supervisor/codec/message_text.hpp"

namespace ringserve::supervisor::codec::detail {

using simdjson::dom::element;

// A random UUID v4: the id of a request that brings none.
inline std::string uuid4() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uint64_t hi = rng();
  std::uint64_t lo = rng();
  hi = (hi & ~0xF000ull) | 0x4000ull;                      // version 4
  lo = (lo & ~(0xC000ull << 48)) | (0x8000ull << 48);      // variant 10
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  s.reserve(36);
  for (int i = 15; i >= 0; --i) {
    s.push_back(kHex[(hi >> (i * 4)) & 15]);
    if (i == 8 || i == 4) s.push_back('-');
  }
  s.push_back('-');
  for (int i = 15; i >= 0; --i) {
    s.push_back(kHex[(lo >> (i * 4)) & 15]);
    if (i == 12) s.push_back('-');
  }
  return s;
}

using codec::quoteName;

// The JSON text of a scalar for messages, shortened.
inline std::string valueText(element e) {
  std::string s = simdjson::minify(e);
  if (s.size() > 40) s = s.substr(0, 37) + "...";
  return s;
}

}  // namespace ringserve::supervisor::codec::detail
