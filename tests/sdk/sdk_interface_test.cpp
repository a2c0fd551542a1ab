// The C++ SDK seen through its C ABI, with a fake host: the simplified interface (decode_args),
// codecs chosen by content type, request-level codecs, metadata, metrics and ABI checks.
#include <gtest/gtest.h>

#include <cctype>
#include <cstring>
#include <ringserve/ringserve.hpp>

#include "fake_host.hpp"
#include "schema/version.hpp"

namespace {

using namespace ringserve;
using ringserve::testing::bytesOf;
using ringserve::testing::FakeHost;
using ringserve::testing::FakeInput;
using ringserve::testing::rawOf;
using ringserve::testing::stringsOf;

class WordCount : public SimpleModel {
 public:
  WordCount() { decodeArgs(&WordCount::count, {"questions", "context"}); }
  std::vector<float> count(const std::vector<std::string>& questions, const std::vector<std::string>& context) {
    metrics().counterAdd("questions_total", static_cast<double>(questions.size()));
    std::vector<float> out;
    for (const auto& q : questions) out.push_back(static_cast<float>(q.size() + context.size()));
    return out;
  }
};

class Multi : public SimpleModel {
 public:
  Multi() { decodeArgs(&Multi::run, {"a", "labels"}, {"doubled", "labels_out"}); }
  std::tuple<NDArray<float>, std::vector<std::string>> run(NDArrayView<float> a,
                                                           std::optional<std::vector<std::string>> labels) const {
    NDArray<float> out{Shape(a.shape.begin(), a.shape.end()), {}};
    for (const float v : a.data) out.data.push_back(v * 2);
    return {out, labels.value_or(std::vector<std::string>{"none"})};
  }
};

class Later : public SimpleModel {
 public:
  Later() { decodeArgs(&Later::run, {"when"}); }
  std::vector<TimePoint> run(std::vector<TimePoint> when) {
    for (auto& t : when) t += std::chrono::hours(1);
    return when;
  }
};

class Blobs : public SimpleModel {
 public:
  Blobs() { decodeArgs(&Blobs::run, {"blob"}); }
  std::vector<Bytes> run(std::vector<Bytes> blobs) {
    for (auto& b : blobs) b.push_back('!');
    return blobs;
  }
};

class Upper : public Model {
 public:
  InferenceResponse predict(const InferenceRequest& request) override {
    auto text = codecs::decodeRequest<std::vector<std::string>>(request);
    for (auto& t : text)
      for (auto& c : t) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    auto response = request.response();
    codecs::encodeResponse(response, text);
    response.setHeader("x-upper", "yes");
    return response;
  }
};

class Forgetful : public SimpleModel {};

}  // namespace

RINGSERVE_REGISTER_RUNTIME(WordCount)
RINGSERVE_REGISTER_RUNTIME(Multi)
RINGSERVE_REGISTER_RUNTIME(Later)
RINGSERVE_REGISTER_RUNTIME(Blobs)
RINGSERVE_REGISTER_RUNTIME(Upper)
RINGSERVE_REGISTER_RUNTIME(Forgetful)

namespace {

FakeInput strings(std::string name, const std::vector<std::string>& v, std::string params = "") {
  return {std::move(name), RINGSERVE_BYTES, {static_cast<std::int64_t>(v.size())}, bytesOf(v), std::move(params)};
}

TEST(SdkAbi, VersionMacrosMatchSchemaVersions) {
  EXPECT_EQ(RINGSERVE_ABI_MAJOR, ringserve::kSdkAbiMajor);
  EXPECT_EQ(RINGSERVE_ABI_MINOR, ringserve::kSdkAbiMinor);
  std::uint32_t major = 0, minor = 0;
  ringserve_plugin_api_version(&major, &minor);
  EXPECT_EQ(major, RINGSERVE_ABI_MAJOR);
  EXPECT_EQ(minor, RINGSERVE_ABI_MINOR);
}

TEST(SdkAbi, ListsRegisteredClasses) {
  std::uint32_t n = 0;
  const char* const* names = ringserve_plugin_classes(&n);
  std::vector<std::string> v(names, names + n);
  EXPECT_EQ(v, (std::vector<std::string>{"WordCount", "Multi", "Later", "Blobs", "Upper", "Forgetful"}));
}

TEST(SdkAbi, AHostOfAnotherMajorIsRefusedNamingBothVersions) {
  try {
    FakeHost h("WordCount", "{}", RINGSERVE_ABI_MAJOR + 1);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "plugin built for SDK ABI 1.1 cannot be used by a host speaking 2.0");
  }
}

TEST(SdkAbi, UnknownClassAndBadSettingsFailCreate) {
  EXPECT_THROW(FakeHost("Nope", "{}"), std::runtime_error);
  try {
    FakeHost h("WordCount", "{not json");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("model settings: not valid JSON"), std::string::npos) << e.what();
  }
}

TEST(SimplifiedInterface, DecodesNamedInputsAndEncodesTheResult) {
  FakeHost h("WordCount", R"({"inputs":[{"name":"questions","datatype":"BYTES"}],"outputs":[{"name":"output-0"}]})");
  EXPECT_EQ(h.reportedInputs, std::vector<std::string>{"questions"});
  EXPECT_EQ(h.reportedOutputs, std::vector<std::string>{"output-0"});
  const auto r = h.predict({strings("questions", {"ab", "abcd"}), strings("context", {"x", "y", "z"})});
  ASSERT_EQ(r.code, RINGSERVE_OK) << r.error;
  const auto& out = r.output("output-0");
  EXPECT_EQ(out.datatype, static_cast<std::uint32_t>(RINGSERVE_FP32));
  EXPECT_EQ(out.shape, (std::vector<std::int64_t>{2, 1}));
  EXPECT_EQ(out.data, rawOf(std::vector<float>{5, 7}));
  EXPECT_EQ(out.parametersJson, R"({"content_type":"np"})");
  EXPECT_EQ(h.metrics["questions_total"], 2.0);
}

TEST(SimplifiedInterface, AMissingInputGivesMlserversMessage) {
  FakeHost h("WordCount", "{}");
  const auto r = h.predict({strings("a", {"x"}), strings("b", {"y"})});
  EXPECT_EQ(r.code, RINGSERVE_BAD_INPUT);
  EXPECT_EQ(r.error, "Input 'questions' was not found. Available inputs are 'a', 'b'.");
}

TEST(SimplifiedInterface, AWrongDatatypeNamesInputExpectedAndReceived) {
  FakeHost h("WordCount", "{}");
  const auto r = h.predict({{"questions", RINGSERVE_FP32, {1}, rawOf(std::vector<float>{1}), ""}, strings("context", {"c"})});
  EXPECT_EQ(r.code, RINGSERVE_BAD_INPUT);
  EXPECT_EQ(r.error, "Input 'questions' has datatype FP32, expected BYTES.");
}

TEST(SimplifiedInterface, ContentTypeFromTheInputThenFromModelMetadata) {
  FakeHost h("WordCount", R"({"inputs":[{"name":"context","datatype":"BYTES","parameters":{"content_type":"base64"}}]})");
  // questions: base64 from the request; context: base64 from the model metadata.
  const auto r = h.predict({strings("questions", {"aGVsbG8="}, R"({"content_type":"base64"})"), strings("context", {"eA=="})});
  ASSERT_EQ(r.code, RINGSERVE_OK) << r.error;
  EXPECT_EQ(r.output("output-0").data, rawOf(std::vector<float>{6}));  // "hello" + 1 context element
}

TEST(SimplifiedInterface, ZeroCopyViewsOptionalInputsAndTupleResults) {
  FakeHost h("Multi", "{}");
  auto r = h.predict({{"a", RINGSERVE_FP32, {2, 2}, rawOf(std::vector<float>{1, 2, 3, 4}), ""}});
  ASSERT_EQ(r.code, RINGSERVE_OK) << r.error;
  EXPECT_EQ(r.output("doubled").shape, (std::vector<std::int64_t>{2, 2}));
  EXPECT_EQ(r.output("doubled").data, rawOf(std::vector<float>{2, 4, 6, 8}));
  EXPECT_EQ(stringsOf(r.output("labels_out")), std::vector<std::string>{"none"});
  EXPECT_EQ(r.output("labels_out").parametersJson, R"({"content_type":"str"})");
  r = h.predict({{"a", RINGSERVE_FP32, {1}, rawOf(std::vector<float>{1}), ""}, strings("labels", {"p", "q"})});
  EXPECT_EQ(stringsOf(r.output("labels_out")), (std::vector<std::string>{"p", "q"}));
  r = h.predict({{"a", RINGSERVE_FP64, {1}, rawOf(std::vector<double>{1}), ""}});
  EXPECT_EQ(r.error, "Input 'a' has datatype FP64, expected FP32.");
}

TEST(SimplifiedInterface, DatetimeAndBase64Codecs) {
  FakeHost later("Later", "{}");
  auto r = later.predict({strings("when", {"2024-01-31T23:30:00"})});
  ASSERT_EQ(r.code, RINGSERVE_OK) << r.error;
  EXPECT_EQ(stringsOf(r.output("output-0")), std::vector<std::string>{"2024-02-01T00:30:00+00:00"});
  EXPECT_EQ(r.output("output-0").parametersJson, R"({"content_type":"datetime"})");
  r = later.predict({strings("when", {"not a date"})});
  EXPECT_EQ(r.code, RINGSERVE_BAD_INPUT);
  EXPECT_EQ(r.error, "There was an error encoding / decoding the payload: 'not a date' is not an ISO-8601 date and time");

  FakeHost blobs("Blobs", "{}");
  r = blobs.predict({strings("blob", {"aGk=", "raw bytes"})});
  ASSERT_EQ(r.code, RINGSERVE_OK) << r.error;
  EXPECT_EQ(stringsOf(r.output("output-0")), (std::vector<std::string>{"aGkh", "cmF3IGJ5dGVzIQ=="}));  // "hi!", "raw bytes!"
}

TEST(RequestCodec, SingleInputRequestsAndResponseHeaders) {
  FakeHost h("Upper", "{}");
  auto r = h.predict({strings("text", {"abc"})});
  ASSERT_EQ(r.code, RINGSERVE_OK) << r.error;
  EXPECT_EQ(stringsOf(r.output("output-1")), std::vector<std::string>{"ABC"});
  EXPECT_EQ(r.parametersJson, R"({"headers":{"x-upper":"yes"}})");
  r = h.predict({strings("a", {"x"}), strings("b", {"y"})});
  EXPECT_EQ(r.code, RINGSERVE_BAD_INPUT);
  EXPECT_EQ(r.error,
            "There was an error encoding / decoding the payload: a single-input request codec needs exactly one input, "
            "the request has 2");
}

TEST(SimplifiedInterface, ForgettingDecodeArgsIsAnInternalError) {
  FakeHost h("Forgetful", "{}");
  const auto r = h.predict({});
  EXPECT_EQ(r.code, RINGSERVE_INTERNAL);
  EXPECT_EQ(r.error, "SimpleModel: the constructor did not call decodeArgs()");
}

}  // namespace
