#include <gtest/gtest.h>

#include <cmath>

#include "ringserve/codecs.hpp"
#include "ringserve/settings.hpp"

namespace ringserve {
namespace {

TEST(Base64, RoundTripsAndRejectsInvalidText) {
  EXPECT_EQ(codecs::base64Encode(std::string_view("")), "");
  EXPECT_EQ(codecs::base64Encode(std::string_view("f")), "Zg==");
  EXPECT_EQ(codecs::base64Encode(std::string_view("fo")), "Zm8=");
  EXPECT_EQ(codecs::base64Encode(std::string_view("foobar")), "Zm9vYmFy");
  const auto d = codecs::base64Decode("Zm9vYg==");
  ASSERT_TRUE(d);
  EXPECT_EQ(std::string(d->begin(), d->end()), "foob");
  for (const char* bad : {"Zm9", "Zm9v!A==", "Zg=a", "=Zg="}) EXPECT_FALSE(codecs::base64Decode(bad)) << bad;
}

TEST(Datetime, ParsesIsoFormsAndFormatsForPython) {
  using namespace std::chrono;
  const TimePoint t = codecs::parseDatetime("2021-08-24T15:01:19");
  EXPECT_EQ(codecs::formatDatetime(t), "2021-08-24T15:01:19+00:00");
  EXPECT_EQ(codecs::parseDatetime("2021-08-24T17:01:19+02:00"), t);
  EXPECT_EQ(codecs::parseDatetime("2021-08-24T15:01:19Z"), t);
  EXPECT_EQ(codecs::parseDatetime("2021-08-24 15:01:19.000000"), t);
  const TimePoint frac = codecs::parseDatetime("2021-08-24T15:01:19.5");
  EXPECT_EQ(frac - t, microseconds(500000));
  EXPECT_EQ(codecs::formatDatetime(frac), "2021-08-24T15:01:19.500000+00:00");
  EXPECT_EQ(codecs::formatDatetime(codecs::parseDatetime("1999-12-31")), "1999-12-31T00:00:00+00:00");
  for (const char* bad : {"2021-02-30T00:00:00", "yesterday", "2021-08-24T25:00:00", "2021-08-24T15:01:19+0", ""}) {
    try {
      codecs::parseDatetime(bad);
      ADD_FAILURE() << bad;
    } catch (const BadInput& e) {
      EXPECT_NE(std::string(e.what()).find("There was an error encoding / decoding the payload"), std::string::npos);
    }
  }
}

TEST(HalfFloats, ConvertBothWays) {
  EXPECT_EQ(Float16::fromFloat(1.0f).bits, 0x3c00);
  EXPECT_EQ(Float16::fromFloat(-2.0f).bits, 0xc000);
  EXPECT_EQ(Float16::fromFloat(65504.0f).bits, 0x7bff);
  EXPECT_EQ(Float16::fromFloat(1e6f).bits, 0x7c00);
  EXPECT_EQ(Float16::fromFloat(5.960464477539063e-08f).bits, 0x0001);  // smallest subnormal
  EXPECT_TRUE(std::isnan(Float16{0x7e00}.toFloat()));
  for (const float f : {0.0f, 1.0f, -0.5f, 3.140625f, 65504.0f, 6.103515625e-05f, 5.960464477539063e-08f})
    EXPECT_EQ(Float16::fromFloat(f).toFloat(), f) << f;
  EXPECT_EQ(BFloat16::fromFloat(1.0f).bits, 0x3f80);
  EXPECT_EQ(BFloat16::fromFloat(3.140625f).bits, 0x4049);
  EXPECT_EQ(BFloat16{0x4049}.toFloat(), 3.140625f);
}

TEST(Datatypes, NamesAndSizes) {
  for (std::uint32_t i = 0; i < kDataTypeCount; ++i) {
    const auto t = static_cast<DataType>(i);
    EXPECT_EQ(parseDataType(toString(t)), t);
  }
  EXPECT_FALSE(parseDataType("fp32"));
  EXPECT_EQ(elementSize(DataType::BOOL), 1u);
  EXPECT_EQ(elementSize(DataType::BF16), 2u);
  EXPECT_EQ(elementSize(DataType::BYTES), 0u);
  EXPECT_EQ(dataTypeOf<const float>, DataType::FP32);
}

TEST(Parameters, ReadsMembersAndHeaders) {
  const Parameters p(R"({"content_type":"str","n":2.5,"flag":true,"headers":{"x-a":"1","x-n":7},"o":{"k":[1]}})");
  EXPECT_EQ(p.contentType(), "str");
  EXPECT_EQ(p.getNumber("n"), 2.5);
  EXPECT_EQ(p.getBool("flag"), true);
  EXPECT_EQ(p.getRaw("o"), R"({"k":[1]})");
  EXPECT_FALSE(p.getString("n"));
  EXPECT_FALSE(p.has("missing"));
  EXPECT_EQ(p.header("x-a"), "1");
  EXPECT_EQ(p.header("x-n"), "7");
  EXPECT_TRUE(Parameters("").empty());
  EXPECT_THROW(Parameters("{oops").contentType(), BadInput);
  EXPECT_THROW(Parameters("[1]").has("a"), BadInput);
}

TEST(ParametersBuilder, WritesJsonWithHeadersAndEscapes) {
  ParametersBuilder b;
  b.set("content_type", "np");
  b.setNumber("score", 0.5);
  b.setBool("ok", false);
  b.setRaw("list", "[1,2]");
  b.setHeader("x-q", "a\"b\n");
  b.set("content_type", "str");
  EXPECT_EQ(b.toJson(), R"({"content_type":"str","score":0.5,"ok":false,"list":[1,2],"headers":{"x-q":"a\"b\n"}})");
  EXPECT_EQ(jsonQuote(std::string_view("\x01", 1)), "\"\\u0001\"");
}

TEST(Tensors, ElementCountsAndBytesElements) {
  EXPECT_EQ(elementCount(std::vector<std::int64_t>{2, 3}), 6u);
  EXPECT_EQ(elementCount(std::vector<std::int64_t>{}), 1u);
  EXPECT_THROW(elementCount(std::vector<std::int64_t>{2, -1}), BadInput);
  EXPECT_THROW(elementCount(std::vector<std::int64_t>{1LL << 40, 1LL << 40}), BadInput);
  const std::byte data[] = {std::byte{2}, std::byte{0}, std::byte{0}, std::byte{0}, std::byte{'h'}, std::byte{'i'},
                            std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0}};
  const auto e = splitBytesElements(data, "t");
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0], "hi");
  EXPECT_EQ(e[1], "");
  EXPECT_THROW(splitBytesElements(std::span<const std::byte>(data, 5), "t"), BadInput);
  EXPECT_THROW(splitBytesElements(std::span<const std::byte>(data, 8), "t"), BadInput);
}

TEST(ModelSettings, ParsesMlserverFields) {
  const auto s = ModelSettings::parse(R"({
    "name": "qa", "implementation": "qa.QuestionAnswering", "max_batch_size": 4,
    "inputs": [{"name": "questions", "datatype": "BYTES", "shape": [-1], "parameters": {"content_type": "str"}}],
    "outputs": [{"name": "scores", "datatype": "FP32", "shape": [-1, 1]}],
    "parameters": {"uri": "/m/qa", "version": 2, "content_type": "np", "extra": {"threshold": 0.5}}
  })", "/m");
  EXPECT_EQ(s.name, "qa");
  EXPECT_EQ(s.implementation, "qa.QuestionAnswering");
  EXPECT_EQ(s.maxBatchSize, 4);
  EXPECT_EQ(s.uri, "/m/qa");
  EXPECT_EQ(s.version, "2");
  EXPECT_EQ(s.contentType, "np");
  EXPECT_EQ(s.modelDir, "/m");
  EXPECT_EQ(s.extra().getNumber("threshold"), 0.5);
  ASSERT_EQ(s.inputs.size(), 1u);
  EXPECT_EQ(s.input("questions")->contentType, "str");
  EXPECT_EQ(s.input("questions")->shape, std::vector<std::int64_t>{-1});
  EXPECT_EQ(s.output("scores")->datatype, "FP32");
  EXPECT_EQ(ModelSettings::parse("{}", "").extraJson, "{}");
  EXPECT_THROW(ModelSettings::parse("[]", ""), BadInput);
  EXPECT_THROW(ModelSettings::parse(R"({"name": 3, "implementation": {}})", ""), BadInput);
  EXPECT_THROW(ModelSettings::parse(R"({"inputs": {}})", ""), BadInput);
}

}  // namespace
}  // namespace ringserve
