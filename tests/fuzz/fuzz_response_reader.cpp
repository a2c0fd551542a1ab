// Fuzz target: the supervisor reading a worker's response (an untrusted peer: a worker may come
// from an environment tarball with its own binary). Input: 2 bytes giving the frame's length in
// words, the frame (a Cap'n Proto InferResponse), then the bytes of the response arena the
// frame's outputs point into. Read as the lane client and dispatcher do: the transport's checked
// FrameReader, then the response encoder printing JSON or binary outputs.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include <capnp/message.h>

#include "response_input.hpp"
#include "supervisor/codec/response_encoder.hpp"
#include "supervisor/worker_error.hpp"
#include "transport/frame.hpp"
#include "worker.capnp.h"

using namespace ringserve;
using namespace ringserve::supervisor;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  fuzz::ResponseInput input(data, size);
  auto root = input.root();
  if (!root) return 0;
  static codec::ResponseEncoder encoder;
  (void)transport::readGuarded([&] {
    auto resp = *root;
    if (resp.isError()) {
      auto e = supervisor::errorFromWorker(resp.getError().getCode(), resp.getError().getMessage().cStr());
      return static_cast<int>(e.kind);
    }
    const codec::OutputBytes view = [&](std::uint64_t offset, std::uint64_t n) { return input.bytes(offset, n); };
    for (const bool binary : {false, true}) {
      codec::ResponseFormat format;
      format.binaryDataOutput = binary;
      codec::StringSink sink;
      auto r = encoder.encode(resp.getOk(), view, format, "fuzz", "", sink);
      static const bool verbose = std::getenv("RINGSERVE_FUZZ_VERBOSE") != nullptr;
      if (verbose) std::fprintf(stderr, "%s\n", r ? sink.out.c_str() : r.error().message.c_str());
    }
    return 0;
  });
  return 0;
}
