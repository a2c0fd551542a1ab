// The protobuf half of the inference path without a server: ModelInferRequest into an arena
// (typed and raw, the refusals), parameters both ways, and a planned result into
// ModelInferResponse (typed, raw, FP16 forcing raw, the size limit naming the setting).
#include "supervisor/grpc/infer_codec.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "supervisor/grpc/parameters.hpp"

namespace ringserve::supervisor::grpcfe {
namespace {

// Blocks from a plain buffer, offsets counted from its start.
class BufferArena final : public codec::ArenaTarget {
 public:
  Expected<codec::ArenaBlock> allocate(std::uint64_t bytes) override {
    blocks.emplace_back(bytes);
    offsets += bytes;
    return codec::ArenaBlock{offsets - bytes, std::span<std::byte>(blocks.back())};
  }
  std::vector<std::vector<std::byte>> blocks;
  std::uint64_t offsets = 0;
};

using Input = inference::ModelInferRequest::InferInputTensor;

Expected<codec::DecodedRequest> decode(const inference::ModelInferRequest& req, BufferArena& arena,
                                       std::vector<std::pair<std::string, std::string>> headers = {}) {
  codec::RequestInfo info;
  info.modelName = "m";
  info.headers = std::move(headers);
  return InferRequestSource(req).decode(info, arena);
}

TEST(GrpcInferCodec, TypedInt8IsNarrowedIntoTheArena) {
  inference::ModelInferRequest req;
  auto* in = req.add_inputs();
  in->set_name("x");
  in->set_datatype("INT8");
  in->add_shape(3);
  for (int v : {-128, 0, 127}) in->mutable_contents()->add_int_contents(v);
  (*req.mutable_parameters())["n"].set_int64_param(5);
  (*req.mutable_parameters())["headers"].set_string_param("client's");
  BufferArena arena;
  auto r = decode(req, arena, {{"X-Trace", "t1"}});
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->inputs.size(), 1u);
  EXPECT_EQ(r->inputs[0].size, 3u);
  const std::vector<std::byte> want = {std::byte{0x80}, std::byte{0}, std::byte{0x7f}};
  EXPECT_EQ(arena.blocks[0], want);
  EXPECT_EQ(r->parametersJson, R"({"n":5,"headers":{"x-trace":"t1"}})");
  EXPECT_TRUE(r->clientHeadersOverwritten);
  EXPECT_TRUE(r->idGenerated);
  EXPECT_FALSE(r->binaryDataOutput);
}

TEST(GrpcInferCodec, RawBytesAreCheckedThenCopiedOnce) {
  inference::ModelInferRequest req;
  auto* in = req.add_inputs();
  in->set_name("s");
  in->set_datatype("BYTES");
  in->add_shape(1);
  req.add_raw_input_contents(std::string("\x02\x00\x00\x00hi", 6));
  BufferArena arena;
  auto r = decode(req, arena);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->binaryDataOutput);
  EXPECT_EQ(std::memcmp(arena.blocks[0].data(), "\x02\x00\x00\x00hi", 6), 0);
  req.set_raw_input_contents(0, std::string("\x05\x00\x00\x00hi", 6));
  auto bad = decode(req, arena);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind, ErrorKind::badInput);
  EXPECT_EQ(bad.error().message, "input 's': the raw BYTES data element 0 claims 5 bytes but only 2 remain");
}

TEST(GrpcInferCodec, RefusalsNameTheInputAndTheProblem) {
  inference::ModelInferRequest req;
  auto* in = req.add_inputs();
  in->set_name("x");
  in->set_datatype("UINT8");
  in->add_shape(1);
  in->mutable_contents()->add_uint_contents(256);
  BufferArena arena;
  auto r = decode(req, arena);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "input 'x': element 0 of uint_contents (256) is out of range for UINT8");
  in->set_shape(0, -1);
  r = decode(req, arena);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "input 'x': 'shape' must be an array of non-negative integers, got -1");
}

TEST(GrpcInferCodec, ResponseTypedRawAndTheLimit) {
  const float values[] = {1.5f, -2.f};
  codec::PlannedResult result;
  result.modelName = "m";
  result.id = "r1";
  result.parametersJson = R"({"b":true,"i":-3,"u":18446744073709551615,"d":0.5,"s":"x","o":{"k":1}})";
  codec::PlannedOutput out;
  out.name = "y";
  out.type = codec::DataType::FP32;
  out.shape = {2};
  out.bytes = std::as_bytes(std::span(values));
  result.outputs.push_back(out);

  inference::ModelInferResponse typed;
  ASSERT_TRUE(encodeInferResponse(result, false, 1 << 20, typed));
  ASSERT_EQ(typed.outputs_size(), 1);
  EXPECT_EQ(typed.outputs(0).contents().fp32_contents_size(), 2);
  EXPECT_EQ(typed.raw_output_contents_size(), 0);
  const auto& p = typed.parameters();
  EXPECT_TRUE(p.at("b").bool_param());
  EXPECT_EQ(p.at("i").int64_param(), -3);
  EXPECT_EQ(p.at("u").uint64_param(), 18446744073709551615ull);
  EXPECT_EQ(p.at("d").double_param(), 0.5);
  EXPECT_EQ(p.at("s").string_param(), "x");
  EXPECT_EQ(p.at("o").string_param(), R"({"k":1})");

  inference::ModelInferResponse raw;
  ASSERT_TRUE(encodeInferResponse(result, true, 1 << 20, raw));
  ASSERT_EQ(raw.raw_output_contents_size(), 1);
  EXPECT_EQ(raw.raw_output_contents(0).size(), sizeof values);
  EXPECT_FALSE(raw.outputs(0).has_contents());

  result.outputs[0].type = codec::DataType::FP16;  // no typed field: the whole answer goes raw
  result.outputs[0].shape = {4};
  inference::ModelInferResponse half;
  ASSERT_TRUE(encodeInferResponse(result, false, 1 << 20, half));
  EXPECT_EQ(half.raw_output_contents_size(), 1);

  inference::ModelInferResponse small;
  auto tooBig = encodeInferResponse(result, false, 16, small);
  ASSERT_FALSE(tooBig);
  EXPECT_EQ(tooBig.error().kind, ErrorKind::tooLarge);
  EXPECT_NE(tooBig.error().message.find("exceeds grpc_max_message_length (16 bytes)"), std::string::npos);
}

TEST(GrpcParameters, EveryKindToJson) {
  ParameterMap m;
  m["b"].set_bool_param(false);
  m["d"].set_double_param(1.0 / 0.0);
  m["s"].set_string_param("q\"");
  std::string out = "{";
  appendParameterMembers(out, m);
  out += '}';
  // Map order is unspecified: read it back.
  ParameterMap back;
  ASSERT_TRUE(setParametersFromJson(back, out));
  EXPECT_FALSE(back.at("b").bool_param());
  EXPECT_EQ(back.at("s").string_param(), "q\"");
  EXPECT_EQ(back.at("d").string_param(), "null");  // JSON has no infinity
  EXPECT_FALSE(setParametersFromJson(back, "[1]"));
}

}  // namespace
}  // namespace ringserve::supervisor::grpcfe
