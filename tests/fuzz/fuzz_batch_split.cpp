// Fuzz target: the supervisor splitting a worker's answer to a batched predict back per request
// (supervisor/dispatch/batch_rules.hpp: row boundaries, BYTES length prefixes walked in the
// response arena) and printing each member's share as the dispatcher does. Input: 1 byte giving
// the number of members (1 + b % 4), one byte per member giving its rows (1 + b % 4), then the
// response_reader target's format: 2 bytes of frame length in words, the InferResponse frame, the
// response arena.
#include <capnp/message.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

#include "response_input.hpp"
#include "supervisor/codec/response_encoder.hpp"
#include "supervisor/dispatch/batch_rules.hpp"
#include "transport/frame.hpp"
#include "worker.capnp.h"

using namespace ringserve;
using namespace ringserve::supervisor;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t members = 1 + data[0] % 4;
  if (size < 1 + members + 2) return 0;
  std::vector<std::uint64_t> rows;
  std::vector<std::string_view> ids;
  for (std::size_t k = 0; k < members; ++k) {
    rows.push_back(1 + data[1 + k] % 4);
    ids.push_back(k % 2 ? "odd" : "even");
  }
  data += 1 + members;
  size -= 1 + members;
  fuzz::ResponseInput input(data, size);
  auto root = input.root();
  if (!root) return 0;
  static codec::ResponseEncoder encoder;
  (void)transport::readGuarded([&] {
    auto resp = *root;
    if (!resp.isOk()) return 0;
    const dispatch::OutputBytes view = [&](std::uint64_t offset, std::uint64_t n) { return input.bytes(offset, n); };
    auto parts = dispatch::splitResult(resp.getOk(), rows, ids, view);
    static const bool verbose = std::getenv("RINGSERVE_FUZZ_VERBOSE") != nullptr;
    if (!parts) {
      if (verbose) std::fprintf(stderr, "%s\n", parts.error().message.c_str());
      return 0;
    }
    for (auto& part : parts.value()) {
      codec::ResponseFormat format;
      codec::StringSink sink;
      auto r = encoder.encode(part.result(), view, format, "fuzz", "", sink);
      if (verbose) std::fprintf(stderr, "%s\n", r ? sink.out.c_str() : r.error().message.c_str());
    }
    return 0;
  });
  return 0;
}
