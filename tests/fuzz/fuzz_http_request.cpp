// Fuzz target: the HTTP/1.1 request reader (supervisor/http/request_reader.hpp) as a connection
// drives it: bytes arrive in pieces into the input evbuffer, read() runs after each piece,
// a complete request is followed by reset() and the next one (pipelining), an error ends the
// connection. The first byte picks the piece size (1-256 bytes), so splits inside the request
// line, a field, a chunk header or the body are all reached. Limits are small (1 KiB header,
// 64 KiB body) so they are hit too. Any outcome is fine except a crash, a sanitizer report, a
// hang, or a reader that neither consumes bytes nor asks for more.
#include <event2/buffer.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "supervisor/http/request_reader.hpp"

using ringserve::supervisor::http::ReaderLimits;
using ringserve::supervisor::http::RequestReader;

namespace {
void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_http_request: %s\n", what);
    std::abort();
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  static const bool verbose = std::getenv("RINGSERVE_FUZZ_VERBOSE") != nullptr;
  const std::size_t piece = static_cast<std::size_t>(data[0]) + 1;
  ++data;
  --size;
  ReaderLimits limits;
  limits.maxHeaderSize = 1024;
  limits.maxBodySize = 64 << 10;
  RequestReader reader(limits);
  evbuffer* in = evbuffer_new();
  std::size_t fed = 0;
  bool open = true;
  while (open) {
    if (fed < size) {
      const std::size_t n = piece < size - fed ? piece : size - fed;
      evbuffer_add(in, data + fed, n);
      fed += n;
    }
    for (;;) {
      const std::size_t before = evbuffer_get_length(in);
      const auto step = reader.read(in);
      if (step == RequestReader::Step::complete) {
        const auto& r = reader.request();
        check(r.version == 10 || r.version == 11, "a complete request of another version");
        check(evbuffer_get_length(reader.body()) <= limits.maxBodySize, "a body over the limit");
        if (verbose)
          std::printf("request %s %s, %zu fields, %zu body bytes\n", r.methodText.c_str(), r.target.c_str(),
                      r.headers.size(), evbuffer_get_length(reader.body()));
        reader.reset();
        continue;
      }
      if (step == RequestReader::Step::failed) {
        const int s = reader.error().status;
        check(s == 400 || s == 413 || s == 431 || s == 501 || s == 505, "an unexpected error status");
        if (verbose) std::printf("error %d %s\n", s, reader.error().message.c_str());
        open = false;
        break;
      }
      if (step == RequestReader::Step::headerDone) continue;
      // needMore: it must have consumed everything it could, or be waiting for more.
      check(evbuffer_get_length(in) <= before, "the input grew");
      break;
    }
    if (fed >= size) break;
  }
  evbuffer_free(in);
  return 0;
}
