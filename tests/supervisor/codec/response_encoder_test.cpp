#include "supervisor/codec/response_encoder.hpp"

#include <capnp/message.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <random>

#include "supervisor/codec/json_text.hpp"
#include "supervisor/codec/request_decoder.hpp"
#include "supervisor/worker_error.hpp"
#include "test_arena.hpp"

namespace ringserve::supervisor::codec {
namespace {

using testing::TestArena;

struct Output {
  std::string name;
  DataType type;
  std::vector<std::int64_t> shape;
  std::string bytes;
  std::string parametersJson;
};

// Writes each output's bytes into the arena and builds the InferResult naming them.
struct Result {
  TestArena arena;
  capnp::MallocMessageBuilder message;
  schema::InferResult::Builder root = message.initRoot<schema::InferResult>();

  explicit Result(const std::vector<Output>& outputs, std::string parametersJson = "", std::string name = "m",
                  std::string version = "") {
    root.setModelName(name);
    root.setModelVersion(version);
    root.setId("worker-id");
    root.setParametersJson(parametersJson);
    auto list = root.initOutputs(static_cast<unsigned>(outputs.size()));
    for (unsigned k = 0; k < outputs.size(); ++k) {
      const auto& o = outputs[k];
      auto block = arena.allocate(o.bytes.size());
      std::memcpy(block->bytes.data(), o.bytes.data(), o.bytes.size());
      list[k].setName(o.name);
      list[k].setDatatype(o.type);
      auto shape = list[k].initShape(static_cast<unsigned>(o.shape.size()));
      for (unsigned d = 0; d < o.shape.size(); ++d) shape.set(d, o.shape[d]);
      list[k].setOffset(block->offset);
      list[k].setSize(o.bytes.size());
      list[k].setParametersJson(o.parametersJson);
    }
  }
  OutputBytes view() const {
    return [this](std::uint64_t offset, std::uint64_t size) { return arena.checkedView(offset, size); };
  }
};

template <class T>
std::string raw(std::initializer_list<T> values) {
  std::string s(values.size() * sizeof(T), '\0');
  std::size_t i = 0;
  for (T v : values) std::memcpy(s.data() + sizeof(T) * i++, &v, sizeof(T));
  return s;
}

// A sink that keeps copies and references apart, to check nothing binary is copied.
class RecordingSink final : public OutputSink {
 public:
  void appendCopy(std::string_view bytes) override {
    copies.emplace_back(bytes);
    body.append(bytes);
  }
  void appendReference(std::span<const std::byte> bytes) override {
    references.push_back(bytes);
    body.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
  std::vector<std::string> copies;
  std::vector<std::span<const std::byte>> references;
  std::string body;
};

Expected<EncodedResponse> encode(const Result& r, RecordingSink& sink, ResponseFormat format = {}) {
  ResponseEncoder encoder;
  return encoder.encode(r.root.asReader(), r.view(), format, "model", "", sink);
}

TEST(ResponseEncoder, JsonOutputsOfEveryDatatype) {
  Result r({
      {"b", DataType::BOOL, {3}, raw<std::uint8_t>({1, 0, 1}), ""},
      {"u8", DataType::UINT8, {2}, raw<std::uint8_t>({0, 255}), ""},
      {"u16", DataType::UINT16, {1}, raw<std::uint16_t>({65535}), ""},
      {"u32", DataType::UINT32, {1}, raw<std::uint32_t>({4294967295u}), ""},
      {"u64", DataType::UINT64, {1}, raw<std::uint64_t>({18446744073709551615ull}), ""},
      {"i8", DataType::INT8, {2}, raw<std::int8_t>({-128, 127}), ""},
      {"i16", DataType::INT16, {1}, raw<std::int16_t>({-32768}), ""},
      {"i32", DataType::INT32, {2, 1}, raw<std::int32_t>({-5, 7}), ""},
      {"i64", DataType::INT64, {1}, raw<std::int64_t>({INT64_MIN}), ""},
      {"f16", DataType::FP16, {3}, raw<std::uint16_t>({0x3C00, 0x2E66, 0x7C00}), ""},
      {"bf16", DataType::BF16, {2}, raw<std::uint16_t>({0x3F80, 0xC020}), ""},
      {"f32", DataType::FP32, {4}, raw<float>({0.1f, -1.5f, 1e30f, std::nanf("")}), ""},
      {"f64", DataType::FP64, {2}, raw<double>({0.1, -INFINITY}), ""},
      {"s", DataType::BYTES, {2}, std::string("\x02\0\0\0h\"\x03\0\0\0\xC3\xA9\n", 13), R"({"content_type":"str"})"},
  });
  RecordingSink sink;
  auto e = encode(r, sink);
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_FALSE(e->inferenceHeaderContentLength.has_value());
  EXPECT_TRUE(sink.references.empty());
  EXPECT_EQ(
      sink.body,
      R"({"model_name":"m","id":"worker-id","outputs":[)"
      R"({"name":"b","datatype":"BOOL","shape":[3],"data":[true,false,true]},)"
      R"({"name":"u8","datatype":"UINT8","shape":[2],"data":[0,255]},)"
      R"({"name":"u16","datatype":"UINT16","shape":[1],"data":[65535]},)"
      R"({"name":"u32","datatype":"UINT32","shape":[1],"data":[4294967295]},)"
      R"({"name":"u64","datatype":"UINT64","shape":[1],"data":[18446744073709551615]},)"
      R"({"name":"i8","datatype":"INT8","shape":[2],"data":[-128,127]},)"
      R"({"name":"i16","datatype":"INT16","shape":[1],"data":[-32768]},)"
      R"({"name":"i32","datatype":"INT32","shape":[2,1],"data":[-5,7]},)"
      R"({"name":"i64","datatype":"INT64","shape":[1],"data":[-9223372036854775808]},)"
      R"({"name":"f16","datatype":"FP16","shape":[3],"data":[1,0.099975586,null]},)"
      R"({"name":"bf16","datatype":"BF16","shape":[2],"data":[1,-2.5]},)"
      R"({"name":"f32","datatype":"FP32","shape":[4],"data":[0.1,-1.5,1e+30,null]},)"
      R"({"name":"f64","datatype":"FP64","shape":[2],"data":[0.1,null]},)"
      R"({"name":"s","datatype":"BYTES","shape":[2],"parameters":{"content_type":"str"},"data":["h\"","é\n"]}]})");
  EXPECT_EQ(e->bodyBytes, sink.body.size());
  simdjson::dom::parser p;
  EXPECT_FALSE(p.parse(sink.body).error()) << "the body is valid JSON";
}

TEST(ResponseEncoder, Fp32AndFp64PrintShortestRoundTrip) {
  std::mt19937 rng(42);
  std::vector<float> f(4096);
  std::vector<double> d(4096);
  for (std::size_t i = 0; i < f.size(); ++i) {
    do {
      f[i] = std::bit_cast<float>(static_cast<std::uint32_t>(rng()));
    } while (!std::isfinite(f[i]));
    do {
      d[i] = std::bit_cast<double>((static_cast<std::uint64_t>(rng()) << 32) | rng());
    } while (!std::isfinite(d[i]));
  }
  d[0] = 123456789012345680000.0;  // shortest fixed form would be a 21-digit integer
  d[1] = -1e19;
  std::string fb(reinterpret_cast<const char*>(f.data()), f.size() * 4);
  std::string db(reinterpret_cast<const char*>(d.data()), d.size() * 8);
  Result r({{"f", DataType::FP32, {4096}, fb, ""}, {"d", DataType::FP64, {4096}, db, ""}});
  RecordingSink sink;
  ASSERT_TRUE(encode(r, sink).ok());
  simdjson::dom::parser p;
  simdjson::dom::element doc = p.parse(sink.body).value();
  auto fdata = doc["outputs"].at(0)["data"].get_array().value();
  auto ddata = doc["outputs"].at(1)["data"].get_array().value();
  std::size_t i = 0;
  for (auto v : fdata)
    ASSERT_EQ(std::bit_cast<std::uint32_t>(static_cast<float>(v.get_double().value())),
              std::bit_cast<std::uint32_t>(f[i++]));
  i = 0;
  for (auto v : ddata) ASSERT_EQ(v.get_double().value(), d[i++]);
}

TEST(ResponseEncoder, BinaryOutputsAreReferencedNotCopied) {
  Result r({{"a", DataType::FP32, {2}, raw<float>({1, 2}), R"({"content_type":"np","binary_data_size":99})"},
            {"j", DataType::INT32, {1}, raw<std::int32_t>({3}), ""},
            {"s", DataType::BYTES, {1}, std::string("\x02\0\0\0\xff\xfe", 6), ""}});
  ResponseFormat format;
  format.binaryDataOutput = true;
  format.binaryByOutput = {{"j", false}};
  RecordingSink sink;
  auto e = encode(r, sink, format);
  ASSERT_TRUE(e.ok()) << e.error().message;
  const std::string json =
      R"({"model_name":"m","id":"worker-id","outputs":[)"
      R"({"name":"a","datatype":"FP32","shape":[2],"parameters":{"content_type":"np","binary_data_size":8}},)"
      R"({"name":"j","datatype":"INT32","shape":[1],"data":[3]},)"
      R"({"name":"s","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":6}}]})";
  ASSERT_EQ(sink.copies.size(), 1u);
  EXPECT_EQ(sink.copies[0], json);
  EXPECT_EQ(e->inferenceHeaderContentLength, json.size());
  ASSERT_EQ(sink.references.size(), 2u);
  // The references point into the arena where the worker wrote the outputs.
  EXPECT_TRUE(r.arena.contains(sink.references[0].data()));
  EXPECT_EQ(sink.references[0].data(), r.arena.view(r.root.getOutputs()[0].getOffset(), 8).data());
  EXPECT_EQ(sink.body, json + raw<float>({1, 2}) + std::string("\x02\0\0\0\xff\xfe", 6));
  EXPECT_EQ(e->bodyBytes, sink.body.size());
}

TEST(ResponseEncoder, ResponseHeadersLeaveTheBody) {
  Result r(
      {}, R"({"content_type":"np","headers":{"X-Model":"v1","X-Count":3,"Bad Name":"x","X-Evil":"a\r\nInjected: 1"}})");
  RecordingSink sink;
  auto e = encode(r, sink);
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ(sink.body, R"({"model_name":"m","id":"worker-id","parameters":{"content_type":"np"},"outputs":[]})");
  EXPECT_EQ(e->headers, (std::vector<std::pair<std::string, std::string>>{{"X-Model", "v1"}, {"X-Count", "3"}}));
  ASSERT_EQ(e->warnings.size(), 2u);
  EXPECT_NE(e->warnings[0].find("'Bad Name' dropped"), std::string::npos);
  EXPECT_NE(e->warnings[1].find("'X-Evil' dropped"), std::string::npos);

  Result onlyHeaders({}, R"({"headers":{"a":"b"}})");
  RecordingSink sink2;
  ASSERT_TRUE(encode(onlyHeaders, sink2).ok());
  EXPECT_EQ(sink2.body, R"({"model_name":"m","id":"worker-id","outputs":[]})");
}

TEST(ResponseEncoder, RequestIdAndModelFillIn) {
  Result r({}, "", "", "3");
  ResponseFormat format;
  format.requestId = "req-9";
  RecordingSink sink;
  ResponseEncoder encoder;
  ASSERT_TRUE(encoder.encode(r.root.asReader(), r.view(), format, "fallback", "1", sink).ok());
  EXPECT_EQ(sink.body, R"({"model_name":"fallback","model_version":"3","id":"req-9","outputs":[]})");
}

TEST(ResponseEncoder, EmptyAndZeroSizedOutputs) {
  Result r({{"e", DataType::FP32, {0, 3}, "", ""}, {"s", DataType::BYTES, {0}, "", ""}});
  RecordingSink sink;
  ASSERT_TRUE(encode(r, sink).ok());
  EXPECT_EQ(sink.body, R"({"model_name":"m","id":"worker-id","outputs":[)"
                       R"({"name":"e","datatype":"FP32","shape":[0,3],"data":[]},)"
                       R"({"name":"s","datatype":"BYTES","shape":[0],"data":[]}]})");
}

// --- a worker's malformed result: 500, and the sink stays untouched ---

void expectFailure(const Result& r, std::string_view fragment, ResponseFormat format = {}) {
  RecordingSink sink;
  auto e = encode(r, sink, format);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().kind, ErrorKind::internal);
  EXPECT_NE(e.error().message.find(fragment), std::string::npos) << e.error().message;
  EXPECT_TRUE(sink.body.empty());
}

TEST(ResponseEncoderErrors, MalformedResultsFailBeforeAnythingIsWritten) {
  expectFailure(
      Result({{"ok", DataType::FP32, {1}, raw<float>({1}), ""}, {"x", DataType::FP32, {3}, raw<float>({1, 2}), ""}}),
      "output 'x' has shape [3] of FP32, which needs 12 bytes, but holds 8");
  expectFailure(Result({{"s", DataType::BYTES, {1}, std::string("\x02\0\0\0\xC3\x28", 6), ""}}),
                "output 's' (BYTES, shape [1]) element 0 is not valid UTF-8, which JSON cannot carry; request this "
                "output with parameters.binary_data");
  expectFailure(Result({{"s", DataType::BYTES, {2}, std::string("\x01\0\0\0a", 5), ""}}),
                "ends inside the length of element 1");
  expectFailure(Result({{"s", DataType::BYTES, {1}, std::string("\x01\0\0\0ab", 6), ""}}),
                "has 1 bytes after its last element");
  expectFailure(Result({{"x", DataType::FP32, {-1}, "", ""}}), "output 'x' has an invalid shape [-1]");
  // A lying worker: a huge shape whose byte size wraps to 0 in 64 bits (2^62 * 4) must not pass
  // as the 0 bytes it sent (the encoder would then print 2^62 elements from nothing).
  expectFailure(Result({{"x", DataType::FP32, {1ll << 31, 1ll << 31}, "", ""}}),
                "output 'x' has an invalid shape [2147483648,2147483648]");
  expectFailure(Result({{"x", DataType::FP64, {1ll << 30, 1ll << 31}, "", ""}}), "has an invalid shape");
  expectFailure(Result({{"x", DataType::FP32, {1}, raw<float>({1}), "[1]"}}),
                "the runtime returned output 'x' parameters that are not a JSON object");
  expectFailure(Result({}, "{bad"), "response parameters that are not a JSON object");

  Result outside({{"x", DataType::FP32, {1}, raw<float>({1}), ""}});
  outside.root.getOutputs()[0].setOffset(1ull << 40);
  expectFailure(outside, "outside the response arena");
}

TEST(ResponseEncoderErrors, InvalidUtf8BytesAreFineAsBinary) {
  Result r({{"s", DataType::BYTES, {1}, std::string("\x02\0\0\0\xC3\x28", 6), ""}});
  ResponseFormat format;
  format.binaryDataOutput = true;
  RecordingSink sink;
  EXPECT_TRUE(encode(r, sink, format).ok());
}

TEST(ResponseEncoder, WorkerErrorsMapToStatuses) {
  EXPECT_EQ(errorFromWorker(schema::ErrorCode::BAD_INPUT, "x").kind, ErrorKind::badInput);
  EXPECT_EQ(errorFromWorker(schema::ErrorCode::NOT_FOUND, "x").kind, ErrorKind::notFound);
  EXPECT_EQ(errorFromWorker(schema::ErrorCode::UNAVAILABLE, "x").kind, ErrorKind::unavailable);
  EXPECT_EQ(errorFromWorker(schema::ErrorCode::RESOURCE_EXHAUSTED, "x").kind, ErrorKind::unavailable);
  EXPECT_EQ(errorFromWorker(schema::ErrorCode::TIMEOUT, "x").kind, ErrorKind::timeout);
  EXPECT_EQ(errorFromWorker(schema::ErrorCode::INTERNAL, "boom").kind, ErrorKind::internal);
  EXPECT_EQ(errorFromWorker(schema::ErrorCode::INCOMPATIBLE, "x").kind, ErrorKind::internal);
  EXPECT_EQ(errorFromWorker(schema::ErrorCode::INTERNAL, "boom").message, "boom");
}

TEST(JsonText, ErrorBodyIsAlwaysValidJson) {
  EXPECT_EQ(errorBody("Model foo not found"), R"({"error":"Model foo not found"})");
  EXPECT_EQ(errorBody("a \"q\" \\ \n\t\x01"), R"({"error":"a \"q\" \\ \n\t\u0001"})");
  EXPECT_EQ(errorBody("bad \xC3\x28 byte"), "{\"error\":\"bad \xEF\xBF\xBD( byte\"}");
  EXPECT_TRUE(validUtf8("h\xC3\xA9"));
  EXPECT_FALSE(validUtf8("\xED\xA0\x80"));  // a surrogate
}

// Decode a JSON request, hand its tensors back as outputs from the same arena, encode: the data
// printed equals the data sent, for every datatype.
TEST(CodecRoundTrip, JsonInJsonOutIsExact) {
  const std::string request = R"({"id":"rt","inputs":[
    {"name":"b","shape":[2],"datatype":"BOOL","data":[true,false]},
    {"name":"u64","shape":[2],"datatype":"UINT64","data":[0,18446744073709551615]},
    {"name":"i64","shape":[2],"datatype":"INT64","data":[-9223372036854775808,9223372036854775807]},
    {"name":"i8","shape":[2],"datatype":"INT8","data":[-128,127]},
    {"name":"f16","shape":[2],"datatype":"FP16","data":[0.5,-65504]},
    {"name":"bf16","shape":[2],"datatype":"BF16","data":[0.5,-3]},
    {"name":"f32","shape":[2,2],"datatype":"FP32","data":[[0.1,3.4028235e+38],[-1e-45,1]]},
    {"name":"f64","shape":[2],"datatype":"FP64","data":[0.30000000000000004,5e-324]},
    {"name":"s","shape":[2],"datatype":"BYTES","data":["日本","\"q\"\\"]}]})";
  RequestDecoder decoder;
  TestArena arena;
  ContiguousBody body(request);
  std::vector<std::pair<std::string, std::string>> headers;
  auto decoded = decoder.decode(body, RequestInfo{"m", headers, nullptr}, arena);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;

  capnp::MallocMessageBuilder message;
  auto root = message.initRoot<schema::InferResult>();
  root.setModelName("m");
  auto outs = root.initOutputs(static_cast<unsigned>(decoded->inputs.size()));
  for (unsigned k = 0; k < decoded->inputs.size(); ++k) {
    const auto& in = decoded->inputs[k];
    outs[k].setName(in.name);
    outs[k].setDatatype(in.datatype);
    auto shape = outs[k].initShape(static_cast<unsigned>(in.shape.size()));
    for (unsigned d = 0; d < in.shape.size(); ++d) shape.set(d, in.shape[d]);
    outs[k].setOffset(in.offset);
    outs[k].setSize(in.size);
  }
  StringSink sink;
  ResponseEncoder encoder;
  auto e = encoder.encode(
      root.asReader(), [&](std::uint64_t o, std::uint64_t s) { return arena.checkedView(o, s); },
      decoded->responseFormat(), "m", "", sink);
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ(sink.out,
            R"({"model_name":"m","id":"rt","outputs":[)"
            R"({"name":"b","datatype":"BOOL","shape":[2],"data":[true,false]},)"
            R"({"name":"u64","datatype":"UINT64","shape":[2],"data":[0,18446744073709551615]},)"
            R"({"name":"i64","datatype":"INT64","shape":[2],"data":[-9223372036854775808,9223372036854775807]},)"
            R"({"name":"i8","datatype":"INT8","shape":[2],"data":[-128,127]},)"
            R"({"name":"f16","datatype":"FP16","shape":[2],"data":[0.5,-65504]},)"
            R"({"name":"bf16","datatype":"BF16","shape":[2],"data":[0.5,-3]},)"
            R"({"name":"f32","datatype":"FP32","shape":[2,2],"data":[0.1,3.4028235e+38,-1e-45,1]},)"
            R"({"name":"f64","datatype":"FP64","shape":[2],"data":[0.30000000000000004,5e-324]},)"
            R"({"name":"s","datatype":"BYTES","shape":[2],"data":["日本","\"q\"\\"]}]})");
}

}  // namespace
}  // namespace ringserve::supervisor::codec
