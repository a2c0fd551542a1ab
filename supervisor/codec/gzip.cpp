#include "supervisor/codec/gzip.hpp"

#include <zlib.h>

namespace ringserve::supervisor::codec {

std::string gzipCompress(std::string_view plain) {
  z_stream z{};
  // 15 + 16: gzip wrapper; level 1: responses are latency-bound, not size-bound.
  deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, plain.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(plain.data()));
  z.avail_in = static_cast<uInt>(plain.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

Expected<std::string> gzipDecompress(std::string_view compressed, std::uint64_t limit) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 32) != Z_OK) return internalError("zlib inflateInit failed");
  std::string out;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  z.avail_in = static_cast<uInt>(compressed.size());
  char buf[65536];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&z);
      return badRequest(std::string("request body is not valid gzip: ") + (z.msg != nullptr ? z.msg : "corrupt data"));
    }
    out.append(buf, sizeof buf - z.avail_out);
    if (out.size() > limit) {
      inflateEnd(&z);
      return tooLarge("request body inflates to more than max_request_size (" + std::to_string(limit) + " bytes)");
    }
    if (rc == Z_OK && z.avail_in == 0 && z.avail_out != 0) {
      inflateEnd(&z);
      return badRequest("request body is truncated gzip");
    }
  }
  inflateEnd(&z);
  return out;
}

}  // namespace ringserve::supervisor::codec
