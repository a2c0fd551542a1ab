// Fuzz target: the V2 request decoder (supervisor/codec/request_decoder.hpp) as the dispatcher
// drives it, on a client's bytes. The first byte picks the form: plain JSON, the binary tensor
// extension (the next two bytes give the JSON header's length) or the raw single-input request
// (a declared input, Inference-Header-Content-Length: 0). Everything else is the body.
// Any outcome is fine except a crash, a sanitizer report or a hang.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "../supervisor/codec/test_arena.hpp"
#include "supervisor/codec/request_decoder.hpp"

using namespace ringserve::supervisor;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  static codec::RequestDecoder decoder;  // reused, as one HTTP loop reuses its decoder
  static const std::vector<settings::TensorMetadata> declared = [] {
    settings::TensorMetadata t;
    t.name = "x";
    t.datatype = "FP32";
    t.shape = {1, -1};
    return std::vector<settings::TensorMetadata>{t};
  }();
  const int form = data[0] % 3;
  const std::size_t headerLength = static_cast<std::size_t>(data[1]) | static_cast<std::size_t>(data[2]) << 8;
  const std::string_view body(reinterpret_cast<const char*>(data) + 3, size - 3);
  codec::RequestInfo info;
  info.modelName = "fuzz";
  info.headers = {{"Content-Type", "application/json"}, {"X-Fuzz", "1"}};
  if (form == 1) info.headers.emplace_back("Inference-Header-Content-Length", std::to_string(headerLength));
  if (form == 2) {
    info.headers.emplace_back("Inference-Header-Content-Length", "0");
    info.declaredInputs = &declared;
  }
  codec::testing::TestArena arena(1 << 20);
  codec::ContiguousBody source(body);
  auto decoded = decoder.decode(source, info, arena);
  // RINGSERVE_FUZZ_VERBOSE=1: what each input decoded to (checking that seeds reach the success path).
  static const bool verbose = std::getenv("RINGSERVE_FUZZ_VERBOSE") != nullptr;
  if (verbose)
    std::fprintf(stderr, "%s\n",
                 decoded ? ("ok, " + std::to_string(decoded->inputs.size()) + " inputs").c_str()
                         : decoded.error().message.c_str());
  if (decoded) {
    // What the dispatcher does next with a decoded request: its format and id are read.
    (void)decoded->responseFormat();
  }
  return 0;
}
