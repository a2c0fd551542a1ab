#include "ringserve/codecs.hpp"

#include <array>
#include <charconv>
#include <cstdio>

namespace ringserve::codecs {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<std::int8_t, 256> kDecode = [] {
  std::array<std::int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
  return t;
}();

// Reads `n` decimal digits at `pos`; -1 when they are not all digits.
int digits(std::string_view s, std::size_t pos, std::size_t n) {
  if (pos + n > s.size()) return -1;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

}  // namespace

std::string base64Encode(std::span<const std::uint8_t> in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const std::uint32_t v = std::uint32_t{in[i]} << 16 | std::uint32_t{in[i + 1]} << 8 | in[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (const std::size_t rest = in.size() - i; rest > 0) {
    std::uint32_t v = std::uint32_t{in[i]} << 16;
    if (rest == 2) v |= std::uint32_t{in[i + 1]} << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string base64Encode(std::string_view bytes) {
  return base64Encode(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

std::optional<Bytes> base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  Bytes out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = text[i + static_cast<std::size_t>(k)];
      if (c == '=' && last && k >= 2) {
        v[k] = 0;
        ++pad;
        continue;
      }
      if (pad > 0) return std::nullopt;  // data after padding
      v[k] = kDecode[static_cast<unsigned char>(c)];
      if (v[k] < 0) return std::nullopt;
    }
    const std::uint32_t w = static_cast<std::uint32_t>(v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3]);
    out.push_back(static_cast<std::uint8_t>(w >> 16));
    if (pad < 2) out.push_back(static_cast<std::uint8_t>(w >> 8));
    if (pad < 1) out.push_back(static_cast<std::uint8_t>(w));
  }
  return out;
}

void codecError(const std::string& what) {
  throw BadInput("There was an error encoding / decoding the payload: " + what);
}

TimePoint parseDatetime(std::string_view s) {
  auto fail = [&]() { codecError("'" + std::string(s.substr(0, 64)) + "' is not an ISO-8601 date and time"); };
  const int Y = digits(s, 0, 4), M = digits(s, 5, 2), D = digits(s, 8, 2);
  if (Y < 0 || M < 1 || M > 12 || D < 1 || s.size() < 10 || s[4] != '-' || s[7] != '-') fail();
  using namespace std::chrono;
  const year_month_day ymd{year{Y}, month{static_cast<unsigned>(M)}, day{static_cast<unsigned>(D)}};
  if (!ymd.ok()) fail();
  microseconds tod{0};
  std::size_t pos = 10;
  if (pos < s.size() && (s[pos] == 'T' || s[pos] == ' ')) {
    const int h = digits(s, pos + 1, 2), m = digits(s, pos + 4, 2);
    if (h < 0 || h > 23 || m < 0 || m > 59 || pos + 3 >= s.size() || s[pos + 3] != ':') fail();
    int sec = 0;
    pos += 6;
    if (pos < s.size() && s[pos] == ':') {
      sec = digits(s, pos + 1, 2);
      if (sec < 0 || sec > 59) fail();
      pos += 3;
      if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
        ++pos;
        long frac = 0;
        int n = 0;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
          if (n < 6) frac = frac * 10 + (s[pos] - '0'), ++n;
          ++pos;
        }
        if (n == 0) fail();
        while (n < 6) frac *= 10, ++n;
        tod += microseconds{frac};
      }
    }
    tod += hours{h} + minutes{m} + seconds{sec};
    if (pos < s.size()) {
      if (s[pos] == 'Z' && pos + 1 == s.size()) {
        ++pos;
      } else if (s[pos] == '+' || s[pos] == '-') {
        const int oh = digits(s, pos + 1, 2);
        std::size_t mpos = pos + 3;
        if (mpos < s.size() && s[mpos] == ':') ++mpos;
        const int om = digits(s, mpos, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59 || mpos + 2 != s.size()) fail();
        const minutes offset = hours{oh} + minutes{om};
        tod -= s[pos] == '+' ? offset : -offset;
        pos = s.size();
      }
    }
  }
  if (pos != s.size()) fail();
  return TimePoint{sys_days{ymd}.time_since_epoch() + tod};
}

std::string formatDatetime(TimePoint t) {
  using namespace std::chrono;
  const auto days = floor<std::chrono::days>(t);
  const year_month_day ymd{sys_days{days}};
  const hh_mm_ss hms{t - days};
  char buf[48];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02ld:%02ld:%02ld", static_cast<int>(ymd.year()),
                        static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                        static_cast<long>(hms.hours().count()), static_cast<long>(hms.minutes().count()),
                        static_cast<long>(hms.seconds().count()));
  std::string out(buf, static_cast<std::size_t>(n));
  if (const auto us = hms.subseconds().count(); us != 0) {
    n = std::snprintf(buf, sizeof buf, ".%06ld", static_cast<long>(us));
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out + "+00:00";
}

std::vector<std::string> decodeStrings(const TensorView& input, std::string_view contentType) {
  const auto elements = input.elements();
  std::vector<std::string> out;
  out.reserve(elements.size());
  for (const auto e : elements) {
    if (contentType == content_types::base64) {
      if (auto d = base64Decode(e)) {
        out.emplace_back(reinterpret_cast<const char*>(d->data()), d->size());
        continue;
      }
    }
    out.emplace_back(e);
  }
  return out;
}

std::vector<Bytes> decodeBase64(const TensorView& input, std::string_view contentType) {
  const auto elements = input.elements();
  std::vector<Bytes> out;
  out.reserve(elements.size());
  const bool raw = contentType == content_types::string;
  for (const auto e : elements) {
    if (!raw)
      if (auto d = base64Decode(e)) {
        out.push_back(std::move(*d));
        continue;
      }
    out.emplace_back(reinterpret_cast<const std::uint8_t*>(e.data()), reinterpret_cast<const std::uint8_t*>(e.data()) + e.size());
  }
  return out;
}

std::vector<TimePoint> decodeDatetimes(const TensorView& input) {
  const auto elements = input.elements();
  std::vector<TimePoint> out;
  out.reserve(elements.size());
  for (const auto e : elements) out.push_back(parseDatetime(e));
  return out;
}

void Codec<std::vector<std::string>>::encode(InferenceResponse& out, std::string_view name,
                                             const std::vector<std::string>& v, std::string_view ct) {
  out.addBytes(name, {static_cast<std::int64_t>(v.size()), 1}, v, ct.empty() ? contentType : ct);
}

void Codec<std::vector<Bytes>>::encode(InferenceResponse& out, std::string_view name, const std::vector<Bytes>& v,
                                       std::string_view ct) {
  std::vector<std::string> encoded;
  encoded.reserve(v.size());
  for (const auto& b : v) encoded.push_back(base64Encode(std::span<const std::uint8_t>(b)));
  out.addBytes(name, {static_cast<std::int64_t>(v.size()), 1}, encoded, ct.empty() ? contentType : ct);
}

void Codec<std::vector<TimePoint>>::encode(InferenceResponse& out, std::string_view name,
                                           const std::vector<TimePoint>& v, std::string_view ct) {
  std::vector<std::string> encoded;
  encoded.reserve(v.size());
  for (const auto t : v) encoded.push_back(formatDatetime(t));
  out.addBytes(name, {static_cast<std::int64_t>(v.size()), 1}, encoded, ct.empty() ? contentType : ct);
}

}  // namespace ringserve::codecs
