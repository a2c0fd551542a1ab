// Codec throughput: decode and encode of [1,N] FP32 requests, JSON and binary, beside memcpy.
#include <benchmark/benchmark.h>
#include <capnp/message.h>
#include <event2/buffer.h>
#include <simdjson.h>

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "supervisor/codec/evbuffer_io.hpp"
#include "supervisor/codec/request_decoder.hpp"
#include "supervisor/codec/response_encoder.hpp"

namespace {
using namespace ringserve::supervisor;
using namespace ringserve::supervisor::codec;
namespace schema = ringserve::schema;

// A bump allocator over one buffer, reset between iterations (the lane's arena stands in).
class BumpArena final : public ArenaTarget {
 public:
  explicit BumpArena(std::size_t capacity)
      : capacity_(capacity), base_(static_cast<std::byte*>(std::aligned_alloc(64, capacity))) {}
  ~BumpArena() override { std::free(base_); }
  BumpArena(const BumpArena&) = delete;
  BumpArena& operator=(const BumpArena&) = delete;
  Expected<ArenaBlock> allocate(std::uint64_t bytes) override {
    const std::uint64_t rounded = (bytes + 63) / 64 * 64;
    if (used_ + rounded > capacity_) return unavailable("bench arena full");
    ArenaBlock b{used_, std::span<std::byte>(base_ + used_, bytes)};
    used_ += rounded;
    return b;
  }
  void reset() { used_ = 0; }
  std::byte* base() const { return base_; }

 private:
  std::size_t capacity_;
  std::byte* base_;
  std::uint64_t used_ = 0;
};

std::vector<float> randomFloats(std::size_t n) {
  std::mt19937 rng(7);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

std::string jsonRequest(const std::vector<float>& v) {
  std::string s = R"({"inputs":[{"name":"x","shape":[1,)" + std::to_string(v.size()) + R"(],"datatype":"FP32","data":[)";
  char buf[32];
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) s += ',';
    s.append(buf, std::to_chars(buf, buf + sizeof buf, v[i]).ptr);
  }
  s += "]}]}";
  return s;
}

void BM_DecodeJson(benchmark::State& state) {
  const auto v = randomFloats(static_cast<std::size_t>(state.range(0)));
  const std::string body = jsonRequest(v);
  BumpArena arena(64 << 20);
  RequestDecoder decoder;
  std::vector<std::pair<std::string, std::string>> headers{{"Content-Type", "application/json"}};
  for (auto _ : state) {
    arena.reset();
    ContiguousBody b(body);
    auto r = decoder.decode(b, RequestInfo{"m", headers, nullptr}, arena);
    if (!r.ok()) state.SkipWithError(r.error().message.c_str());
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
  state.counters["body_bytes"] = static_cast<double>(body.size());
}

void BM_DecodeBinary(benchmark::State& state) {
  const auto v = randomFloats(static_cast<std::size_t>(state.range(0)));
  const std::string json = R"({"inputs":[{"name":"x","shape":[1,)" + std::to_string(v.size()) +
                           R"(],"datatype":"FP32","parameters":{"binary_data_size":)" + std::to_string(v.size() * 4) +
                           "}}]}";
  // The body as the HTTP layer holds it: an evbuffer.
  evbuffer* buf = evbuffer_new();
  evbuffer_add(buf, json.data(), json.size());
  evbuffer_add(buf, v.data(), v.size() * 4);
  const std::size_t bodySize = evbuffer_get_length(buf);
  BumpArena arena(64 << 20);
  RequestDecoder decoder;
  std::vector<std::pair<std::string, std::string>> headers{{"Inference-Header-Content-Length", std::to_string(json.size())}};
  for (auto _ : state) {
    arena.reset();
    EvbufferBody b(buf);
    auto r = decoder.decode(b, RequestInfo{"m", headers, nullptr}, arena);
    if (!r.ok()) state.SkipWithError(r.error().message.c_str());
    benchmark::DoNotOptimize(r);
  }
  evbuffer_free(buf);
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bodySize));
}

// One FP32 [1,N] output in the arena and its InferResult.
struct ResultFixture {
  BumpArena arena{64 << 20};
  capnp::MallocMessageBuilder message;
  schema::InferResult::Reader reader;
  explicit ResultFixture(const std::vector<float>& v) {
    auto block = arena.allocate(v.size() * 4);
    std::memcpy(block->bytes.data(), v.data(), v.size() * 4);
    auto root = message.initRoot<schema::InferResult>();
    root.setModelName("m");
    root.setId("id");
    auto out = root.initOutputs(1)[0];
    out.setName("y");
    out.setDatatype(DataType::FP32);
    auto shape = out.initShape(2);
    shape.set(0, 1);
    shape.set(1, static_cast<std::int64_t>(v.size()));
    out.setOffset(block->offset);
    out.setSize(v.size() * 4);
    reader = root.asReader();
  }
  OutputBytes view() const {
    return [this](std::uint64_t offset, std::uint64_t size) -> Expected<std::span<const std::byte>> {
      return std::span<const std::byte>(arena.base() + offset, size);
    };
  }
};

void encodeBench(benchmark::State& state, bool binary) {
  const auto v = randomFloats(static_cast<std::size_t>(state.range(0)));
  ResultFixture fx(v);
  const OutputBytes view = fx.view();
  ResponseFormat format;
  format.requestId = "id";
  format.binaryDataOutput = binary;
  ResponseEncoder encoder;
  evbuffer* out = evbuffer_new();
  std::size_t bytes = 0;
  for (auto _ : state) {
    EvbufferSink sink(out, nullptr, nullptr);
    auto r = encoder.encode(fx.reader, view, format, "m", "", sink);
    if (!r.ok()) state.SkipWithError(r.error().message.c_str());
    bytes = r->bodyBytes;
    evbuffer_drain(out, evbuffer_get_length(out));
  }
  evbuffer_free(out);
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
  state.counters["body_bytes"] = static_cast<double>(bytes);
}

void BM_EncodeJson(benchmark::State& state) { encodeBench(state, false); }
void BM_EncodeBinary(benchmark::State& state) { encodeBench(state, true); }

// Baseline: simdjson's DOM parse of the same JSON body alone (the floor for BM_DecodeJson).
void BM_SimdjsonParseOnly(benchmark::State& state) {
  const std::string body = jsonRequest(randomFloats(static_cast<std::size_t>(state.range(0))));
  simdjson::dom::parser parser;
  simdjson::padded_string padded(body);
  for (auto _ : state) {
    auto doc = parser.parse(padded);
    benchmark::DoNotOptimize(doc);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}

// Baseline: std::to_chars of the same floats alone (the floor for BM_EncodeJson).
void BM_ToCharsOnly(benchmark::State& state) {
  const auto v = randomFloats(static_cast<std::size_t>(state.range(0)));
  char buf[32];
  std::size_t n = 0;
  for (auto _ : state) {
    for (float f : v) n += static_cast<std::size_t>(std::to_chars(buf, buf + sizeof buf, f).ptr - buf);
    benchmark::DoNotOptimize(n);
  }
  state.SetItemsProcessed(state.iterations());
}

// Baseline: copying the tensor's bytes once.
void BM_MemcpyTensor(benchmark::State& state) {
  const auto v = randomFloats(static_cast<std::size_t>(state.range(0)));
  std::vector<float> dst(v.size());
  for (auto _ : state) {
    std::memcpy(dst.data(), v.data(), v.size() * 4);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * v.size() * 4));
}

BENCHMARK(BM_DecodeJson)->Arg(16)->Arg(65536);
BENCHMARK(BM_DecodeBinary)->Arg(16)->Arg(65536);
BENCHMARK(BM_EncodeJson)->Arg(16)->Arg(65536);
BENCHMARK(BM_EncodeBinary)->Arg(16)->Arg(65536);
BENCHMARK(BM_MemcpyTensor)->Arg(16)->Arg(65536);
BENCHMARK(BM_SimdjsonParseOnly)->Arg(16)->Arg(65536);
BENCHMARK(BM_ToCharsOnly)->Arg(16)->Arg(65536);

}  // namespace
