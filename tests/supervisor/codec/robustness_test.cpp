// Mutated and truncated request bodies: every one is either decoded or refused with 400/503,
// nothing is read or written outside the body and the arena (run under ASan to mean it).
#include <gtest/gtest.h>

#include <random>

#include "supervisor/codec/request_decoder.hpp"
#include "test_arena.hpp"

namespace ringserve::supervisor::codec {
namespace {

using testing::TestArena;

const char* const kSeeds[] = {
    R"({"id":"a","parameters":{"x":1},"inputs":[{"name":"x","shape":[2,2],"datatype":"FP32","data":[[1,2],[3,4]]},)"
    R"({"name":"s","shape":[2],"datatype":"BYTES","data":["ab","c"]},{"name":"b","shape":[1],"datatype":"BOOL","data":[true]}],)"
    R"("outputs":[{"name":"y","parameters":{"binary_data":true}}]})",
    R"({"inputs":[{"name":"h","shape":[3],"datatype":"FP16","data":[1,2,3]},{"name":"i","shape":[1],"datatype":"INT8","data":[-1]}]})",
};

std::string mutate(std::string s, std::mt19937& rng) {
  const int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits && !s.empty(); ++e) {
    const std::size_t pos = rng() % s.size();
    switch (rng() % 4) {
      case 0: s[pos] = static_cast<char>(rng()); break;             // flip a byte
      case 1: s.erase(pos, 1 + rng() % 8); break;                   // drop bytes
      case 2: s.insert(pos, 1, "[]{},:\"0-e9"[rng() % 11]); break;  // add structure
      default: s.resize(pos); break;                                // truncate
    }
  }
  return s;
}

TEST(RequestDecoderRobustness, MutatedJsonBodiesAreDecodedOrRefused) {
  std::mt19937 rng(1234);
  RequestDecoder decoder;
  std::vector<std::pair<std::string, std::string>> headers;
  int refused = 0;
  for (int i = 0; i < 4000; ++i) {
    const std::string body = mutate(kSeeds[i % 2], rng);
    TestArena arena(1 << 16);
    ContiguousBody b(body);
    auto r = decoder.decode(b, RequestInfo{"m", headers, nullptr}, arena);
    if (!r.ok()) {
      ++refused;
      ASSERT_TRUE(r.error().kind == ErrorKind::badInput || r.error().kind == ErrorKind::unavailable)
          << toString(r.error().kind) << " " << body;
      ASSERT_FALSE(r.error().message.empty());
    } else {
      for (const auto& in : r->inputs)
        ASSERT_TRUE(in.size == 0 || arena.contains(arena.view(in.offset, in.size).data()));
    }
  }
  EXPECT_GT(refused, 1000);  // the mutations do produce bad requests
}

TEST(RequestDecoderRobustness, BinaryBodiesWithRandomHeaderLengths) {
  std::mt19937 rng(99);
  RequestDecoder decoder;
  const std::string json =
      R"({"inputs":[{"name":"a","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":8}},)"
      R"({"name":"s","shape":[2],"datatype":"BYTES","parameters":{"binary_data_size":10}}]})";
  const std::string good = json + std::string(8, '\1') + std::string("\x01\0\0\0x\x01\0\0\0y", 10);
  for (int i = 0; i < 2000; ++i) {
    std::string body = i % 3 == 0 ? good : mutate(good, rng);
    std::uint64_t len = json.size();
    if (i % 2 == 1) len = rng() % (body.size() + 4);
    std::vector<std::pair<std::string, std::string>> headers{{"Inference-Header-Content-Length", std::to_string(len)}};
    std::vector<settings::TensorMetadata> declared{{"a", "FP32", {-1}, "", ""}};
    TestArena arena(1 << 16);
    ContiguousBody b(body);
    auto r = decoder.decode(b, RequestInfo{"m", headers, &declared}, arena);
    if (!r.ok()) {
      ASSERT_EQ(r.error().kind, ErrorKind::badInput) << r.error().message;
    }
  }
}

}  // namespace
}  // namespace ringserve::supervisor::codec
