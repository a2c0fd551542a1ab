#include "supervisor/codec/request_decoder.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <cmath>
#include <cstring>
#include <regex>

#include "test_arena.hpp"
#include "transport/half.hpp"

namespace ringserve::supervisor::codec {
namespace {

using testing::TestArena;
using testing::valuesAt;
using Headers = std::vector<std::pair<std::string, std::string>>;

struct Fixture {
  RequestDecoder decoder;
  TestArena arena;
  std::vector<settings::TensorMetadata> declared;
  Headers headers;

  Expected<DecodedRequest> decode(std::string_view body) {
    ContiguousBody b(body);
    RequestInfo info{"m", headers, declared.empty() ? nullptr : &declared};
    return decoder.decode(b, info, arena);
  }
  // Decodes and expects an error of `kind` whose message contains `fragment`.
  void expectError(std::string_view body, ErrorKind kind, std::string_view fragment) {
    auto r = decode(body);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.error().kind, kind) << r.error().message;
    EXPECT_NE(r.error().message.find(fragment), std::string::npos)
        << "message: " << r.error().message << "\nexpected to contain: " << fragment;
  }
};

std::string one(std::string_view input) { return "{\"inputs\":[" + std::string(input) + "]}"; }

TEST(RequestDecoder, Fp32FlatAndNestedGiveTheSameRowMajorBytes) {
  Fixture f;
  auto flat = f.decode(one(R"({"name":"x","shape":[2,3],"datatype":"FP32","data":[1,2,3,4.5,5,-6]})"));
  auto nested = f.decode(one(R"({"name":"x","shape":[2,3],"datatype":"FP32","data":[[1,2,3],[4.5,5,-6]]})"));
  ASSERT_TRUE(flat.ok()) << flat.error().message;
  ASSERT_TRUE(nested.ok()) << nested.error().message;
  const auto& a = flat->inputs.at(0);
  const auto& b = nested->inputs.at(0);
  EXPECT_EQ(a.name, "x");
  EXPECT_EQ(a.datatype, DataType::FP32);
  EXPECT_EQ(a.shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(a.size, 24u);
  EXPECT_EQ(valuesAt<float>(f.arena, a.offset, a.size), (std::vector<float>{1, 2, 3, 4.5f, 5, -6}));
  EXPECT_EQ(valuesAt<float>(f.arena, b.offset, b.size), (std::vector<float>{1, 2, 3, 4.5f, 5, -6}));
  EXPECT_EQ(a.offset % 64, 0u);
}

TEST(RequestDecoder, EveryFixedSizeDatatypeFromJson) {
  Fixture f;
  auto r = f.decode(R"({"inputs":[
    {"name":"b","shape":[4],"datatype":"BOOL","data":[true,false,1,0]},
    {"name":"u8","shape":[2],"datatype":"UINT8","data":[0,255]},
    {"name":"u16","shape":[2],"datatype":"UINT16","data":[0,65535]},
    {"name":"u32","shape":[2],"datatype":"UINT32","data":[0,4294967295]},
    {"name":"u64","shape":[2],"datatype":"UINT64","data":[0,18446744073709551615]},
    {"name":"i8","shape":[2],"datatype":"INT8","data":[-128,127]},
    {"name":"i16","shape":[2],"datatype":"INT16","data":[-32768,32767]},
    {"name":"i32","shape":[3],"datatype":"INT32","data":[-2147483648,2147483647,7.0]},
    {"name":"i64","shape":[2],"datatype":"INT64","data":[-9223372036854775808,9223372036854775807]},
    {"name":"f16","shape":[3],"datatype":"FP16","data":[1,0.1,-65504]},
    {"name":"bf16","shape":[2],"datatype":"BF16","data":[1,-2.5]},
    {"name":"f64","shape":[3],"datatype":"FP64","data":[0.1,-1e300,null]}
  ]})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& in = r->inputs;
  ASSERT_EQ(in.size(), 12u);
  EXPECT_EQ(valuesAt<std::uint8_t>(f.arena, in[0].offset, in[0].size), (std::vector<std::uint8_t>{1, 0, 1, 0}));
  EXPECT_EQ(valuesAt<std::uint8_t>(f.arena, in[1].offset, in[1].size), (std::vector<std::uint8_t>{0, 255}));
  EXPECT_EQ(valuesAt<std::uint16_t>(f.arena, in[2].offset, in[2].size), (std::vector<std::uint16_t>{0, 65535}));
  EXPECT_EQ(valuesAt<std::uint32_t>(f.arena, in[3].offset, in[3].size), (std::vector<std::uint32_t>{0, 4294967295u}));
  EXPECT_EQ(valuesAt<std::uint64_t>(f.arena, in[4].offset, in[4].size),
            (std::vector<std::uint64_t>{0, 18446744073709551615ull}));
  EXPECT_EQ(valuesAt<std::int8_t>(f.arena, in[5].offset, in[5].size), (std::vector<std::int8_t>{-128, 127}));
  EXPECT_EQ(valuesAt<std::int16_t>(f.arena, in[6].offset, in[6].size), (std::vector<std::int16_t>{-32768, 32767}));
  EXPECT_EQ(valuesAt<std::int32_t>(f.arena, in[7].offset, in[7].size),
            (std::vector<std::int32_t>{-2147483647 - 1, 2147483647, 7}));
  EXPECT_EQ(valuesAt<std::int64_t>(f.arena, in[8].offset, in[8].size),
            (std::vector<std::int64_t>{INT64_MIN, INT64_MAX}));
  EXPECT_EQ(valuesAt<std::uint16_t>(f.arena, in[9].offset, in[9].size),
            (std::vector<std::uint16_t>{0x3C00, 0x2E66, 0xFBFF}));
  EXPECT_EQ(valuesAt<std::uint16_t>(f.arena, in[10].offset, in[10].size), (std::vector<std::uint16_t>{0x3F80, 0xC020}));
  auto f64 = valuesAt<double>(f.arena, in[11].offset, in[11].size);
  EXPECT_EQ(f64[0], 0.1);
  EXPECT_EQ(f64[1], -1e300);
  EXPECT_TRUE(std::isnan(f64[2]));  // null is NaN, the encoder's inverse
}

TEST(RequestDecoder, BytesFromJsonStringsUseTheLengthPrefixedLayout) {
  Fixture f;
  auto r = f.decode(one(R"({"name":"s","shape":[1,3],"datatype":"BYTES","data":[["ab","","h\u00e9\n"]]})"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& in = r->inputs[0];
  const std::string expected =
      std::string("\x02\0\0\0ab", 6) + std::string("\0\0\0\0", 4) + std::string("\x04\0\0\0h\xC3\xA9\n", 8);
  EXPECT_EQ(f.arena.text(in.offset, in.size), expected);
}

TEST(RequestDecoder, EmptyTensorsAreAccepted) {
  Fixture f;
  auto r = f.decode(R"({"inputs":[{"name":"a","shape":[0],"datatype":"FP32","data":[]},
                                   {"name":"b","shape":[2,0],"datatype":"BYTES","data":[[],[]]}]})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->inputs[0].size, 0u);
  EXPECT_EQ(r->inputs[1].size, 0u);
}

TEST(RequestDecoder, IdIsKeptOrAUuid4IsGenerated) {
  Fixture f;
  auto given = f.decode(R"({"id":"req-1","inputs":[]})");
  ASSERT_TRUE(given.ok());
  EXPECT_EQ(given->id, "req-1");
  EXPECT_FALSE(given->idGenerated);
  auto generated = f.decode(R"({"inputs":[]})");
  ASSERT_TRUE(generated.ok());
  EXPECT_TRUE(generated->idGenerated);
  EXPECT_TRUE(std::regex_match(generated->id,
                               std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
      << generated->id;
  auto other = f.decode(R"({"inputs":[]})");
  EXPECT_NE(other->id, generated->id);
}

TEST(RequestDecoder, HttpHeadersReplaceClientParametersHeaders) {
  Fixture f;
  f.headers = {{"Content-Type", "application/json"}, {"X-Trace", "a"}, {"x-trace", "b"}};
  auto r =
      f.decode(R"({"parameters":{"headers":{"evil":"1"},"content_type":"np","binary_data_output":true},"inputs":[]})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->clientHeadersOverwritten);
  EXPECT_TRUE(r->binaryDataOutput);
  EXPECT_EQ(
      r->parametersJson,
      R"({"content_type":"np","binary_data_output":true,"headers":{"content-type":"application/json","x-trace":"a, b"}})");
  auto plain = f.decode(R"({"inputs":[]})");
  EXPECT_FALSE(plain->clientHeadersOverwritten);
  EXPECT_EQ(plain->parametersJson, R"({"headers":{"content-type":"application/json","x-trace":"a, b"}})");
}

TEST(RequestDecoder, RequestedOutputsAndTheirBinaryFlags) {
  Fixture f;
  auto r = f.decode(R"({"inputs":[],"parameters":{"binary_data_output":true},
    "outputs":[{"name":"a","parameters":{"binary_data":false}},{"name":"b"},{"name":"c","parameters":{"k":1}}]})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->outputs.size(), 3u);
  EXPECT_EQ(r->outputs[0].binaryData, false);
  EXPECT_FALSE(r->outputs[1].binaryData.has_value());
  EXPECT_EQ(r->outputs[2].parametersJson, R"({"k":1})");
  const auto format = r->responseFormat();
  EXPECT_FALSE(format.binary("a"));
  EXPECT_TRUE(format.binary("b"));
  EXPECT_TRUE(format.binary("unlisted"));
  EXPECT_EQ(format.requestId, r->id);
}

TEST(RequestDecoder, InputParametersArePassedThrough) {
  Fixture f;
  auto r =
      f.decode(one(R"({"name":"x","shape":[1],"datatype":"BYTES","parameters":{"content_type":"str"},"data":["a"]})"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->inputs[0].parametersJson, R"({"content_type":"str"})");
}

// A body that records where each copy went, to prove binary tensors go straight into the arena.
class RecordingBody final : public BodySource {
 public:
  explicit RecordingBody(std::string bytes) : bytes_(std::move(bytes)) {}
  std::uint64_t size() const override { return bytes_.size(); }
  void copyOut(std::uint64_t offset, std::span<std::byte> dst) const override {
    copies.push_back({offset, dst.size(), dst.data()});
    std::memcpy(dst.data(), bytes_.data() + offset, dst.size());
  }
  struct Copy {
    std::uint64_t offset;
    std::size_t size;
    const void* dst;
  };
  mutable std::vector<Copy> copies;

 private:
  std::string bytes_;
};

TEST(RequestDecoder, BinaryExtensionCopiesEachTensorOnceIntoTheArena) {
  Fixture f;
  const std::string json =
      R"({"inputs":[{"name":"a","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":8}},)"
      R"({"name":"j","shape":[1],"datatype":"INT32","data":[7]},)"
      R"({"name":"s","shape":[2],"datatype":"BYTES","parameters":{"binary_data_size":13}}]})";
  float fl[2] = {1.5f, -2.0f};
  std::string tail(reinterpret_cast<const char*>(fl), 8);
  tail += std::string("\x01\0\0\0x\x04\0\0\0\xff\x00\x01\x02", 13);  // BYTES may hold any bytes in binary
  RecordingBody body(json + tail);
  f.headers = {{"Inference-Header-Content-Length", std::to_string(json.size())}};
  RequestInfo info{"m", f.headers, nullptr};
  auto r = f.decoder.decode(body, info, f.arena);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(valuesAt<float>(f.arena, r->inputs[0].offset, 8), (std::vector<float>{1.5f, -2.0f}));
  EXPECT_EQ(valuesAt<std::int32_t>(f.arena, r->inputs[1].offset, 4), (std::vector<std::int32_t>{7}));
  EXPECT_EQ(f.arena.text(r->inputs[2].offset, 13), tail.substr(8));
  // One copy of the JSON header, then one copy per binary tensor, each straight into the arena.
  ASSERT_EQ(body.copies.size(), 3u);
  EXPECT_EQ(body.copies[0].offset, 0u);
  EXPECT_EQ(body.copies[0].size, json.size());
  EXPECT_FALSE(f.arena.contains(body.copies[0].dst));
  EXPECT_EQ(body.copies[1].offset, json.size());
  EXPECT_TRUE(f.arena.contains(body.copies[1].dst));
  EXPECT_TRUE(f.arena.contains(body.copies[2].dst));
  // The parameters stay what the client sent (binary_data_size included).
  EXPECT_EQ(r->inputs[0].parametersJson, R"({"binary_data_size":8})");
}

TEST(RequestDecoder, RawSingleInputRequest) {
  Fixture f;
  f.declared = {{"x", "FP32", {-1, 3}, "", ""}};
  f.headers = {{"Inference-Header-Content-Length", "0"}};
  float v[6] = {1, 2, 3, 4, 5, 6};
  auto r = f.decode(std::string_view(reinterpret_cast<const char*>(v), sizeof v));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->rawRequest);
  EXPECT_TRUE(r->binaryDataOutput);
  EXPECT_TRUE(r->idGenerated);
  ASSERT_EQ(r->inputs.size(), 1u);
  EXPECT_EQ(r->inputs[0].name, "x");
  EXPECT_EQ(r->inputs[0].shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(valuesAt<float>(f.arena, r->inputs[0].offset, 24), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(r->parametersJson, R"({"headers":{"inference-header-content-length":"0"}})");
  EXPECT_TRUE(r->responseFormat().binary("anything"));

  f.expectError(std::string_view(reinterpret_cast<const char*>(v), 20), ErrorKind::badInput,
                "20 bytes do not fit shape [-1,3] of FP32");
}

TEST(RequestDecoder, RawBytesRequestIsOneElement) {
  Fixture f;
  f.declared = {{"text", "BYTES", {1}, "str", ""}};
  f.headers = {{"inference-header-content-length", "0"}};
  auto r = f.decode("hello");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->inputs[0].shape, (std::vector<std::int64_t>{1}));
  EXPECT_EQ(f.arena.text(r->inputs[0].offset, r->inputs[0].size), std::string("\x05\0\0\0hello", 9));
}

TEST(RequestDecoder, RawRequestNeedsExactlyOneDeclaredInput) {
  Fixture f;
  f.headers = {{"Inference-Header-Content-Length", "0"}};
  f.expectError("abcd", ErrorKind::badInput, "exactly one declared input; model 'm' declares 0");
  f.declared = {{"a", "FP32", {-1}, "", ""}, {"b", "FP32", {-1}, "", ""}};
  f.expectError("abcd", ErrorKind::badInput, "declares 2");
  f.declared = {{"a", "FP32", {-1, -1}, "", ""}};
  f.expectError("abcd", ErrorKind::badInput, "at most one variable dimension");
  f.declared = {{"a", "", {-1}, "", ""}};
  f.expectError("abcd", ErrorKind::badInput, "needs the datatype of input 'a'");
}

// --- bad input: every case is badInput (unavailable for a full arena) with a message naming it ---

TEST(RequestDecoderErrors, MalformedAndTruncatedJson) {
  Fixture f;
  f.expectError("{\"inputs\":[", ErrorKind::badInput, "malformed JSON in the request body");
  f.expectError(R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]} trailing)", ErrorKind::badInput,
                "malformed JSON");
  f.expectError("", ErrorKind::badInput, "the request body is empty");
  f.expectError("[1,2]", ErrorKind::badInput, "must be a JSON object");
  f.expectError(R"({"inputs":{}})", ErrorKind::badInput, "'inputs' must be an array");
  f.expectError(R"({"id":5,"inputs":[]})", ErrorKind::badInput, "'id' must be a string");
  f.expectError(R"({"outputs":[]})", ErrorKind::badInput, "the request has no 'inputs'");
  f.expectError(R"({"parameters":[1],"inputs":[]})", ErrorKind::badInput, "'parameters' must be a JSON object");
}

TEST(RequestDecoderErrors, InvalidUtf8InBytesIsReported) {
  Fixture f;
  f.expectError(one("{\"name\":\"s\",\"shape\":[1],\"datatype\":\"BYTES\",\"data\":[\"\xC3\x28\"]}"),
                ErrorKind::badInput, "not valid UTF-8");
}

TEST(RequestDecoderErrors, WrongOrUnknownDatatype) {
  Fixture f;
  f.expectError(one(R"({"name":"x","shape":[1],"datatype":"FLOAT32","data":[1]})"), ErrorKind::badInput,
                "input 'x': unknown datatype 'FLOAT32' (expected one of BOOL, UINT8");
  f.expectError(one(R"({"name":"x","shape":[1],"data":[1]})"), ErrorKind::badInput,
                "input 'x' has no 'datatype' string");
  f.declared = {{"x", "INT64", {-1}, "", ""}};
  f.expectError(one(R"({"name":"x","shape":[1],"datatype":"FP32","data":[1]})"), ErrorKind::badInput,
                "input 'x' has datatype FP32 but model 'm' expects INT64");
}

TEST(RequestDecoderErrors, ElementsOfTheWrongKindOrOutOfRange) {
  Fixture f;
  auto in = [](std::string_view type, std::string_view data) {
    return one("{\"name\":\"x\",\"shape\":[1],\"datatype\":\"" + std::string(type) + "\",\"data\":[" +
               std::string(data) + "]}");
  };
  f.expectError(in("UINT8", "256"), ErrorKind::badInput, "input 'x': element 0 (256) is out of range for UINT8");
  f.expectError(in("UINT8", "-1"), ErrorKind::badInput, "out of range for UINT8");
  f.expectError(in("INT8", "-129"), ErrorKind::badInput, "out of range for INT8");
  f.expectError(in("INT32", "1.5"), ErrorKind::badInput, "element 0 (1.5) is not an integer for INT32");
  f.expectError(in("INT64", "9223372036854775808"), ErrorKind::badInput, "out of range for INT64");
  f.expectError(in("UINT64", "1e30"), ErrorKind::badInput, "out of range for UINT64");
  f.expectError(in("BOOL", "\"yes\""), ErrorKind::badInput, "is not a boolean (true/false or 0/1) for BOOL");
  f.expectError(in("BOOL", "2"), ErrorKind::badInput, "not a boolean");
  f.expectError(in("FP32", "\"1.0\""), ErrorKind::badInput, "element 0 (\"1.0\") is not a number for FP32");
  f.expectError(in("FP32", "1e39"), ErrorKind::badInput, "out of range for FP32");
  f.expectError(in("FP16", "70000"), ErrorKind::badInput, "out of range for FP16");
  f.expectError(in("BF16", "1e39"), ErrorKind::badInput, "out of range for BF16");
  f.expectError(in("BYTES", "5"), ErrorKind::badInput,
                "element 0 (5) is not a string; BYTES elements are JSON strings");
}

TEST(RequestDecoderErrors, ShapeAndElementCountMismatch) {
  Fixture f;
  f.expectError(one(R"({"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,3,4]})"), ErrorKind::badInput,
                "input 'x': shape [1,3] needs 3 elements but 'data' has 4");
  f.expectError(one(R"({"name":"x","shape":[2,2],"datatype":"INT32","data":[[1,2],[3]]})"), ErrorKind::badInput,
                "shape [2,2] needs 4 elements but 'data' has 3");
  f.expectError(one(R"({"name":"s","shape":[3],"datatype":"BYTES","data":["a"]})"), ErrorKind::badInput,
                "input 's': shape [3] needs 3 elements but 'data' has 1");
  f.expectError(one(R"({"name":"x","shape":[-1],"datatype":"FP32","data":[1]})"), ErrorKind::badInput,
                "'shape' must be an array of non-negative integers");
  f.expectError(one(R"({"name":"x","datatype":"FP32","data":[1]})"), ErrorKind::badInput, "input 'x' has no 'shape'");
  f.expectError(one(R"({"name":"x","shape":[4294967296,4294967296,4],"datatype":"FP32","data":[1]})"),
                ErrorKind::badInput, "is too large");
}

TEST(RequestDecoderErrors, BinarySizesThatWouldWrapAreTooLarge) {
  // [2^31, 2^31] FP32 is 2^64 bytes, which wraps to 0 in 64 bits: it must not pass as 0 bytes.
  Fixture f;
  const std::string json =
      R"({"inputs":[{"name":"a","shape":[2147483648,2147483648],"datatype":"FP32","parameters":{"binary_data_size":0}}]})";
  f.headers = {{"Inference-Header-Content-Length", std::to_string(json.size())}};
  f.expectError(json, ErrorKind::badInput, "input 'a': shape [2147483648,2147483648] is too large");
}

TEST(RequestDecoderErrors, MissingDuplicateAndUnknownInputs) {
  Fixture f;
  f.expectError(one(R"({"name":"x","shape":[1],"datatype":"FP32"})"), ErrorKind::badInput,
                "input 'x' has no 'data' (nor parameters.binary_data_size)");
  f.expectError(R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]},
                              {"name":"x","shape":[1],"datatype":"FP32","data":[2]}]})",
                ErrorKind::badInput, "input 'x' appears more than once");
  f.expectError(one(R"({"shape":[1],"datatype":"FP32","data":[1]})"), ErrorKind::badInput,
                "input 0 has no 'name' string");
  f.declared = {{"a", "FP32", {-1}, "", ""}, {"b", "", {}, "", ""}};
  f.expectError(one(R"({"name":"c","shape":[1],"datatype":"FP32","data":[1]})"), ErrorKind::badInput,
                "unknown input 'c' for model 'm'; its inputs are 'a', 'b'");
  // A declared input without a datatype accepts any.
  EXPECT_TRUE(f.decode(one(R"({"name":"b","shape":[1],"datatype":"INT8","data":[1]})")).ok());
  f.expectError(R"({"inputs":[],"outputs":[{"name":"o"},{"name":"o"}]})", ErrorKind::badInput,
                "output 'o' is requested more than once");
}

TEST(RequestDecoderErrors, WrongInferenceHeaderContentLength) {
  Fixture f;
  const std::string json = one(R"({"name":"a","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":8}})");
  const std::string body = json + std::string(8, '\0');
  f.headers = {{"Inference-Header-Content-Length", "abc"}};
  f.expectError(body, ErrorKind::badInput, "invalid Inference-Header-Content-Length \"abc\"");
  f.headers = {{"Inference-Header-Content-Length", std::to_string(body.size() + 1)}};
  f.expectError(body, ErrorKind::badInput,
                "Inference-Header-Content-Length is " + std::to_string(body.size() + 1) + " but the body has only " +
                    std::to_string(body.size()) + " bytes");
  f.headers = {{"Inference-Header-Content-Length", std::to_string(json.size() - 3)}};
  f.expectError(body, ErrorKind::badInput, "malformed JSON");
  f.headers = {{"Inference-Header-Content-Length", std::to_string(json.size())}};
  EXPECT_TRUE(f.decode(body).ok());
  f.expectError(body + "xx", ErrorKind::badInput,
                "the inputs' binary_data_size add up to 8 bytes but 10 bytes follow the JSON header "
                "(Inference-Header-Content-Length: " +
                    std::to_string(json.size()));
}

TEST(RequestDecoderErrors, BinaryDataSizeProblems) {
  Fixture f;
  f.expectError(one(R"({"name":"a","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":8}})"),
                ErrorKind::badInput,
                "uses parameters.binary_data_size but the request has no Inference-Header-Content-Length header");
  auto withHeader = [&](const std::string& json, const std::string& tail) {
    f.headers = {{"Inference-Header-Content-Length", std::to_string(json.size())}};
    return json + tail;
  };
  std::string json = one(R"({"name":"a","shape":[3],"datatype":"FP32","parameters":{"binary_data_size":8}})");
  f.expectError(withHeader(json, std::string(8, '\0')), ErrorKind::badInput,
                "input 'a': shape [3] of FP32 needs 12 bytes but binary_data_size is 8");
  json = one(R"({"name":"a","shape":[2],"datatype":"FP32","data":[1,2],"parameters":{"binary_data_size":8}})");
  f.expectError(withHeader(json, std::string(8, '\0')), ErrorKind::badInput,
                "input 'a' has both 'data' and parameters.binary_data_size");
  json = one(R"({"name":"a","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":-8}})");
  f.expectError(withHeader(json, ""), ErrorKind::badInput, "binary_data_size must be a non-negative integer");
  json = one(R"({"name":"s","shape":[2],"datatype":"BYTES","parameters":{"binary_data_size":8}})");
  f.expectError(withHeader(json, std::string("\x01\0\0\0x\x09\0\0", 8)), ErrorKind::badInput,
                "input 's': the binary BYTES data ends inside the length of element 1");
  json = one(R"({"name":"s","shape":[2],"datatype":"BYTES","parameters":{"binary_data_size":10}})");
  f.expectError(withHeader(json, std::string("\x01\0\0\0x\x09\0\0\0z", 10)), ErrorKind::badInput,
                "element 1 claims 9 bytes but only 1 remain");
  json = one(R"({"name":"s","shape":[2],"datatype":"BYTES","parameters":{"binary_data_size":5}})");
  f.expectError(withHeader(json, std::string("\x01\0\0\0x", 5)), ErrorKind::badInput,
                "holds 1 elements but the shape needs 2");
}

TEST(RequestDecoderErrors, FullArenaIs503FromTheTarget) {
  RequestDecoder decoder;
  TestArena small(256);
  const std::string body = one(R"({"name":"x","shape":[100],"datatype":"FP32","data":[)" + [] {
    std::string d;
    for (int i = 0; i < 100; ++i) d += (i ? ",1" : "1");
    return d;
  }() + "]}");
  ContiguousBody b(body);
  Headers none;
  auto r = decoder.decode(b, RequestInfo{"m", none, nullptr}, small);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::unavailable);
  EXPECT_NE(r.error().message.find("shm_size"), std::string::npos);
}

TEST(RequestDecoder, ParserIsReusedAcrossGrowingRequests) {
  RequestDecoder decoder;
  Headers none;
  for (int n : {1, 1000, 10, 100000}) {
    std::string data;
    for (int i = 0; i < n; ++i) data += (i ? "," : "") + std::to_string(i);
    const std::string body =
        one("{\"name\":\"x\",\"shape\":[" + std::to_string(n) + "],\"datatype\":\"INT32\",\"data\":[" + data + "]}");
    TestArena arena;
    ContiguousBody b(body);
    auto r = decoder.decode(b, RequestInfo{"m", none, nullptr}, arena);
    ASSERT_TRUE(r.ok()) << r.error().message;
    auto v = valuesAt<std::int32_t>(arena, r->inputs[0].offset, r->inputs[0].size);
    ASSERT_EQ(v.size(), static_cast<std::size_t>(n));
    EXPECT_EQ(v.back(), n - 1);
  }
}

TEST(HalfFloat, RoundToNearestEven) {
  using transport::doubleToBfloat16;
  using transport::doubleToHalf;
  EXPECT_EQ(doubleToHalf(1.0), 0x3C00);
  EXPECT_EQ(doubleToHalf(-2.0), 0xC000);
  EXPECT_EQ(doubleToHalf(65504.0), 0x7BFF);
  EXPECT_EQ(doubleToHalf(65519.0), 0x7BFF);               // below the halfway point to 65536
  EXPECT_EQ(doubleToHalf(65520.0), 0x7C00);               // ties to even: infinity
  EXPECT_EQ(doubleToHalf(std::ldexp(1.0, -24)), 0x0001);  // smallest subnormal
  EXPECT_EQ(doubleToHalf(std::ldexp(1.0, -25)), 0x0000);  // halfway to it: ties to even (0)
  EXPECT_EQ(doubleToHalf(std::ldexp(1.5, -25)), 0x0001);
  EXPECT_EQ(doubleToHalf(1.0 + std::ldexp(1.0, -11)), 0x3C00);      // tie, even stays
  EXPECT_EQ(doubleToHalf(1.0 + 3 * std::ldexp(1.0, -11)), 0x3C02);  // tie, odd rounds up
  EXPECT_EQ(doubleToHalf(0.0), 0x0000);
  EXPECT_EQ(doubleToHalf(-0.0), 0x8000);
  EXPECT_EQ(doubleToHalf(std::nan("")) & 0x7C00, 0x7C00);
  EXPECT_NE(doubleToHalf(std::nan("")) & 0x03FF, 0);
  EXPECT_EQ(doubleToBfloat16(1.0), 0x3F80);
  EXPECT_EQ(doubleToBfloat16(1.0 + std::ldexp(1.0, -8)), 0x3F80);      // tie, even stays
  EXPECT_EQ(doubleToBfloat16(1.0 + 3 * std::ldexp(1.0, -8)), 0x3F82);  // tie, odd rounds up
  // Every half value survives half -> float -> half.
  for (std::uint32_t h = 0; h < 0x10000; ++h) {
    const float f = transport::halfToFloat(static_cast<std::uint16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(doubleToHalf(f), h) << std::hex << h;
  }
}

}  // namespace
}  // namespace ringserve::supervisor::codec
