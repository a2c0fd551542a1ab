// The gRPC encoding of `bench`/`infer --protocol grpc` (clients/loadgen/grpc_codec.hpp), without a
// server: what goes into a ModelInferRequest, and how a response (typed or raw) reads back.
#include "clients/loadgen/grpc_codec.hpp"

#include <gtest/gtest.h>

#include <cstring>

#include "clients/loadgen/error.hpp"
#include "clients/loadgen/v2_json.hpp"

using namespace ringserve::loadgen;

namespace {

V2Request sample() {
  return parseRequestJson(R"({"id":"r1","parameters":{"tag":"t","n":3,"ok":true,"x":0.5},
    "inputs":[{"name":"a","shape":[2],"datatype":"INT16","data":[-1,300]},
              {"name":"s","shape":[2],"datatype":"BYTES","data":["hi",""]}],
    "outputs":[{"name":"a","parameters":{"binary_data":false}}]})");
}

}  // namespace

TEST(GrpcCodec, TypedRequestCarriesEveryField) {
  const auto req = toGrpcRequest(sample(), "m", "2", false);
  EXPECT_EQ(req.model_name(), "m");
  EXPECT_EQ(req.model_version(), "2");
  EXPECT_EQ(req.id(), "r1");
  EXPECT_EQ(req.parameters().at("tag").string_param(), "t");
  EXPECT_EQ(req.parameters().at("n").int64_param(), 3);
  EXPECT_TRUE(req.parameters().at("ok").bool_param());
  EXPECT_EQ(req.parameters().at("x").double_param(), 0.5);
  ASSERT_EQ(req.inputs_size(), 2);
  EXPECT_EQ(req.raw_input_contents_size(), 0);
  EXPECT_EQ(req.inputs(0).datatype(), "INT16");
  ASSERT_EQ(req.inputs(0).contents().int_contents_size(), 2);
  EXPECT_EQ(req.inputs(0).contents().int_contents(0), -1);
  EXPECT_EQ(req.inputs(0).contents().int_contents(1), 300);
  ASSERT_EQ(req.inputs(1).contents().bytes_contents_size(), 2);
  EXPECT_EQ(req.inputs(1).contents().bytes_contents(0), "hi");
  ASSERT_EQ(req.outputs_size(), 1);
  EXPECT_EQ(req.outputs(0).name(), "a");
  EXPECT_FALSE(req.outputs(0).parameters().at("binary_data").bool_param());
}

TEST(GrpcCodec, RawRequestIsTheBinaryExtensionsEncoding) {
  const auto req = toGrpcRequest(sample(), "m", "", true);
  ASSERT_EQ(req.raw_input_contents_size(), 2);
  EXPECT_FALSE(req.inputs(0).has_contents());
  const std::string& a = req.raw_input_contents(0);
  ASSERT_EQ(a.size(), 4u);
  std::int16_t v[2];
  std::memcpy(v, a.data(), 4);
  EXPECT_EQ(v[0], -1);
  EXPECT_EQ(v[1], 300);
  EXPECT_EQ(req.raw_input_contents(1), std::string("\2\0\0\0hi\0\0\0\0", 10));
}

TEST(GrpcCodec, BadInputIsAnError) {
  auto fp16 = parseRequestJson(R"({"inputs":[{"name":"h","shape":[1],"datatype":"FP16","data":[1]}]})");
  EXPECT_THROW(toGrpcRequest(fp16, "m", "", false), LoadgenError);  // typed FP16 does not exist
  EXPECT_NO_THROW(toGrpcRequest(fp16, "m", "", true));
  auto nested = parseRequestJson(R"({"parameters":{"o":{"a":1}},"inputs":[]})");
  EXPECT_THROW(toGrpcRequest(nested, "m", "", true), LoadgenError);
  auto range = parseRequestJson(R"({"inputs":[{"name":"a","shape":[1],"datatype":"INT8","data":[300]}]})");
  EXPECT_THROW(toGrpcRequest(range, "m", "", false), LoadgenError);
}

TEST(GrpcCodec, ResponsesReadTheSameTypedOrRaw) {
  inference::ModelInferResponse typed;
  typed.set_model_name("m");
  typed.set_id("r1");
  (*typed.mutable_parameters())["z"].set_string_param("last");
  (*typed.mutable_parameters())["a"].set_int64_param(1);
  auto* o = typed.add_outputs();
  o->set_name("y");
  o->set_datatype("FP32");
  o->add_shape(1);
  o->add_shape(2);
  o->mutable_contents()->add_fp32_contents(1.5f);
  o->mutable_contents()->add_fp32_contents(-0.1f);
  inference::ModelInferResponse raw = typed;
  raw.mutable_outputs(0)->clear_contents();
  const float values[2] = {1.5f, -0.1f};
  raw.add_raw_output_contents(std::string(reinterpret_cast<const char*>(values), sizeof values));
  const std::string a = writeResponseJson(fromGrpcResponse(typed));
  EXPECT_EQ(a, writeResponseJson(fromGrpcResponse(raw)));
  EXPECT_NE(a.find(R"("parameters":{"a":1,"z":"last"})"), std::string::npos) << a;  // sorted keys
  EXPECT_NE(a.find(R"("data":[1.5,-0.1])"), std::string::npos) << a;
  raw.mutable_outputs(0)->add_shape(3);  // 6 elements claimed, 2 sent
  EXPECT_THROW(fromGrpcResponse(raw), LoadgenError);
  raw.add_raw_output_contents("x");
  EXPECT_THROW(fromGrpcResponse(raw), LoadgenError);  // more blobs than outputs
}

TEST(GrpcCodec, Targets) {
  EXPECT_EQ(grpcTarget("http://127.0.0.1:8081"), "127.0.0.1:8081");
  EXPECT_EQ(grpcTarget("grpc://h:1/x"), "h:1");
  EXPECT_EQ(grpcTarget("localhost:8081"), "localhost:8081");
  EXPECT_THROW(grpcTarget("https://h:1"), LoadgenError);
  EXPECT_THROW(grpcTarget("nohost"), LoadgenError);
}
