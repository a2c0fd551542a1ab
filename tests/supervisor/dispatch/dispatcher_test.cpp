// Dispatcher::infer against real workers, seen through a recording ResponseWriter: what any
// front end gets for good requests and for each way one can fail.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "dispatch_fixture.hpp"
#include "supervisor/codec/gzip.hpp"

namespace ringserve::supervisor::dispatch::test {
namespace {

const std::string kX = R"({"inputs":[{"name":"x","shape":[2],"datatype":"INT32","data":[1,2]}]})";

std::string flaky(const std::string& action, int sleepMs = 0) {
  return R"({"parameters":{"action":")" + action + R"(","sleep_ms":)" + std::to_string(sleepMs) +
         R"(},"inputs":[{"name":"x","shape":[2],"datatype":"INT32","data":[1,2]}]})";
}

std::string header(const ResponseHead& head, const std::string& name) {
  for (const auto& [k, v] : head.headers)
    if (k == name) return v;
  return "";
}

void expectFailure(const Outcome& o, ErrorKind kind, const std::string& text) {
  ASSERT_TRUE(o.failure) << "answered: " << o.body;
  EXPECT_EQ(o.failure->kind, kind) << toString(o.failure->kind) << ": " << o.failure->message;
  EXPECT_NE(o.failure->message.find(text), std::string::npos) << o.failure->message;
  EXPECT_FALSE(o.head);
  EXPECT_TRUE(o.answeredOnce);
}

// A front end's own request format: one INT32 input `x` written straight into the arena, or a
// refusal.
class Int32Source final : public RequestSource {
 public:
  explicit Int32Source(std::vector<std::int32_t> values, std::optional<Error> refuse = {})
      : values_(std::move(values)), refuse_(std::move(refuse)) {}
  Expected<codec::DecodedRequest> decode(const codec::RequestInfo& info, codec::ArenaTarget& target) const override {
    if (refuse_) return *refuse_;
    codec::DecodedRequest r;
    r.id = "own-1";
    r.parametersJson = R"({"headers":{}})";
    codec::DecodedInput in;
    in.name = "x";
    in.datatype = codec::DataType::INT32;
    in.shape = {static_cast<std::int64_t>(values_.size())};
    auto block = target.allocate(values_.size() * 4);
    if (!block) return block.error();
    std::memcpy(block->bytes.data(), values_.data(), values_.size() * 4);
    in.offset = block->offset;
    in.size = values_.size() * 4;
    r.inputs.push_back(in);
    EXPECT_EQ(info.modelName, "echo");
    return r;
  }

 private:
  std::vector<std::int32_t> values_;
  std::optional<Error> refuse_;
};

// A front end's own response format: records what the planned result held as "name:DATATYPE:n"
// and the first element, or refuses it.
class OwnFormatWriter final : public ResponseWriter, public ResultEncoding {
 public:
  OwnFormatWriter(std::shared_ptr<std::promise<Outcome>> done, std::optional<Error> refuse)
      : done_(std::move(done)), refuse_(std::move(refuse)) {}
  codec::OutputSink& body() override {
    ADD_FAILURE() << "body() used although the writer has its own encoding";
    return sink_;
  }
  ResultEncoding* encoding() override { return this; }
  Expected<std::uint64_t> encode(const codec::PlannedResult& r) override {
    if (refuse_) return *refuse_;
    for (const auto& o : r.outputs) {
      std::int32_t first = 0;
      if (o.bytes.size() >= 4) std::memcpy(&first, o.bytes.data(), 4);
      text_ += std::string(r.id) + " " + std::string(o.name) + ":" + std::string(codec::dataTypeName(o.type)) + ":" +
               std::to_string(o.bytes.size()) + ":" + std::to_string(first);
    }
    return text_.size();
  }
  void finish(const ResponseHead& head, std::shared_ptr<void> keepAlive) override {
    Outcome o;
    o.head = head;
    o.body = text_;
    o.keptAlive = keepAlive != nullptr;
    done_->set_value(o);
  }
  void fail(const Error& f) override {
    Outcome o;
    o.failure = f;
    done_->set_value(o);
  }

 private:
  std::shared_ptr<std::promise<Outcome>> done_;
  std::optional<Error> refuse_;
  codec::StringSink sink_;
  std::string text_;
};

class DispatcherTest : public ::testing::Test {
 protected:
  InferencePath path_;
};

TEST_F(DispatcherTest, JsonRequestIsAnsweredWithTheEncodedBodyAndCloudEventsHeaders) {
  auto o = path_.infer(
      "echo", R"({"id":"req-1","inputs":[{"name":"x","shape":[2,2],"datatype":"FP32","data":[[1,2],[3,4.5]]}]})");
  ASSERT_TRUE(o.head) << o.failure->message;
  EXPECT_TRUE(o.answeredOnce);
  EXPECT_FALSE(o.head->inferenceHeaderContentLength);
  EXPECT_FALSE(o.keptAlive);  // JSON output: nothing referenced, the response blocks went back at once
  EXPECT_EQ(o.head->bodyBytes, o.body.size());
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  ASSERT_EQ(p.parse(o.body).get(doc), simdjson::SUCCESS) << o.body;
  EXPECT_EQ(std::string_view(doc["model_name"]), "echo");
  EXPECT_EQ(std::string_view(doc["id"]), "req-1");
  EXPECT_EQ(std::string_view(doc["outputs"].at(0)["name"]), "x");
  EXPECT_EQ(double(doc["outputs"].at(0)["data"].at(3)), 4.5);
  EXPECT_EQ(header(*o.head, "Ce-Specversion"), "0.3");
  EXPECT_EQ(header(*o.head, "Ce-Source"), "io.seldon.serving.deployment.dispatch-test");
  EXPECT_EQ(header(*o.head, "Ce-Requestid"), "req-1");
  EXPECT_EQ(header(*o.head, "Ce-Type"), "io.seldon.serving.inference.response");
  EXPECT_EQ(path_.inFlight("echo"), 0);
}

TEST_F(DispatcherTest, AFrontEndsOwnFormatsDecodeAndEncodeTheSameRequest) {
  RequestInfo info;
  info.model = "echo";
  auto own = [](std::optional<Error> refuse = {}) {
    return [refuse](std::shared_ptr<std::promise<Outcome>> done) {
      return std::make_unique<OwnFormatWriter>(std::move(done), refuse);
    };
  };
  auto o = path_.inferFrom(info, std::make_shared<Int32Source>(std::vector<std::int32_t>{41, 42}), own());
  ASSERT_TRUE(o.head) << o.failure->message;
  EXPECT_EQ(o.body, "own-1 x:INT32:8:41");
  EXPECT_EQ(o.head->bodyBytes, o.body.size());
  EXPECT_FALSE(o.keptAlive);  // the encoding copied what it needed
  EXPECT_EQ(header(*o.head, "Ce-Requestid"), "own-1");
  EXPECT_EQ(path_.inFlight("echo"), 0);

  auto refused =
      path_.inferFrom(info, std::make_shared<Int32Source>(std::vector<std::int32_t>{1}, badRequest("no")), own());
  expectFailure(refused, ErrorKind::badInput, "no");
  auto tooBig = path_.inferFrom(info, std::make_shared<Int32Source>(std::vector<std::int32_t>{1}),
                                own(tooLarge("response too large")));
  expectFailure(tooBig, ErrorKind::tooLarge, "response too large");
  EXPECT_EQ(path_.inFlight("echo"), 0);
}

TEST_F(DispatcherTest, BinaryOutputsAreReferencedAndTheirBlocksKept) {
  auto o = path_.infer(
      "echo",
      R"({"parameters":{"binary_data_output":true},"inputs":[{"name":"x","shape":[3],"datatype":"INT32","data":[7,8,9]}]})");
  ASSERT_TRUE(o.head) << o.failure->message;
  ASSERT_TRUE(o.head->inferenceHeaderContentLength);
  EXPECT_TRUE(o.keptAlive);
  const auto n = *o.head->inferenceHeaderContentLength;
  ASSERT_EQ(o.body.size(), n + 12);
  std::int32_t v[3];
  std::memcpy(v, o.body.data() + n, sizeof v);
  EXPECT_EQ(v[0], 7);
  EXPECT_EQ(v[2], 9);
  EXPECT_NE(o.body.substr(0, n).find("\"binary_data_size\":12"), std::string::npos) << o.body.substr(0, n);
}

TEST_F(DispatcherTest, GzipBodyIsInflatedFirst) {
  RequestInfo info;
  info.model = "echo";
  auto o = path_.infer(std::move(info), codec::gzipCompress(kX), "gzip");
  ASSERT_TRUE(o.head) << o.failure->message;
  EXPECT_NE(o.body.find("\"data\":[1,2]"), std::string::npos) << o.body;
}

TEST_F(DispatcherTest, RequestHeadersReachTheRuntimeAsParameters) {
  RequestInfo info;
  info.model = "echo";
  info.headers = {{"X-Trace", "t1"}};
  auto o = path_.infer(
      std::move(info),
      R"({"parameters":{"echo_headers":true},"inputs":[{"name":"x","shape":[1],"datatype":"INT32","data":[1]}]})");
  ASSERT_TRUE(o.head) << o.failure->message;
  EXPECT_EQ(header(*o.head, "x-trace"), "t1") << o.body;
}

TEST_F(DispatcherTest, UnknownModelOrVersionIsNotFound) {
  expectFailure(path_.infer("nope", kX), ErrorKind::notFound, "Model nope not found");
  RequestInfo info;
  info.model = "echo";
  info.version = "7";
  expectFailure(path_.infer(std::move(info), kX), ErrorKind::notFound, "Model echo with version 7 not found");
}

TEST_F(DispatcherTest, BadBodiesAreBadInputAndFreeWhatTheyAllocated) {
  expectFailure(path_.infer("echo", R"({"inputs":[{"name":"x","shape":[2],"datatype":"INT32","data":[1]}]})"),
                ErrorKind::badInput, "x");
  expectFailure(path_.infer("echo", "{\"inputs\": [ nope"), ErrorKind::badInput, "");
  RequestInfo info;
  info.model = "echo";
  expectFailure(path_.infer(std::move(info), "not gzip at all", "gzip"), ErrorKind::badInput, "not valid gzip");
  EXPECT_EQ(path_.inFlight("echo"), 0);
  // The lane still serves: nothing of the refused requests is left in flight.
  EXPECT_TRUE(path_.infer("echo", kX).head);
}

TEST_F(DispatcherTest, AGzipBodyInflatingPastMaxRequestSizeIsTooLarge) {
  RequestInfo info;
  info.model = "echo";
  const std::string big(2u << 20, ' ');  // 2 MiB of spaces; the fixture's max_request_size is 1 MiB
  expectFailure(path_.infer(std::move(info), codec::gzipCompress(big), "gzip"), ErrorKind::tooLarge,
                "max_request_size");
}

TEST_F(DispatcherTest, ARequestThatDoesNotFitTheArenaIsUnavailable) {
  // 12 Mi INT8 elements need 12 MiB of arena; the fixture's whole segment is 8 MiB. (The body is
  // not gzip, so only the front end would bound its size.)
  std::string data;
  const std::size_t n = 12u << 20;
  data.reserve(2 * n);
  for (std::size_t i = 0; i < n; ++i) data += i ? ",0" : "0";
  auto o = path_.infer("echo", R"({"inputs":[{"name":"x","shape":[)" + std::to_string(n) +
                                   R"(],"datatype":"INT8","data":[)" + data + "]}]}");
  expectFailure(o, ErrorKind::unavailable, "shm_size");
  EXPECT_EQ(path_.inFlight("echo"), 0);
}

TEST_F(DispatcherTest, WorkerErrorsKeepTheirKind) {
  expectFailure(path_.infer("flaky", flaky("bad_input")), ErrorKind::badInput, "asked to reject the input");
  expectFailure(path_.infer("flaky", flaky("throw")), ErrorKind::internal, "asked to fail");
  EXPECT_EQ(path_.inFlight("flaky"), 0);
}

TEST_F(DispatcherTest, AWorkerCrashIsUnavailableAndRetriable) {
  expectFailure(path_.infer("flaky", flaky("crash")), ErrorKind::unavailable, "retry");
  EXPECT_EQ(path_.inFlight("flaky"), 0);
}

TEST_F(DispatcherTest, AModelThatFailedToLoadIsBadInput) {
  ASSERT_FALSE(path_.load("broken").ok());
  expectFailure(path_.infer("broken", kX), ErrorKind::badInput, "Model broken is not ready yet.");
  EXPECT_EQ(path_.inFlight("broken"), 0);
}

TEST(DispatcherTimeout, RequestTimeoutAnswersTimeoutAndTheHungWorkerIsReplaced) {
  InferencePath path(FixtureOptions{0.3, 1u << 20, {"flaky"}});
  const auto before = path.workerPids();
  expectFailure(path.infer("flaky", flaky("sleep", 60000)), ErrorKind::timeout, "request_timeout (0.300000 s)");
  // Replaced by the restart policy: wait until another worker process runs (bounded).
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  auto replaced = [&] {
    const auto now = path.workerPids();
    return now.size() == 1 && now[0] > 0 && now != before;
  };
  while (std::chrono::steady_clock::now() < until && !replaced())
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_TRUE(replaced());
}

TEST(DispatcherTimeout, AFrontEndDeadlineAnswersTimeoutWithoutReplacingTheWorker) {
  InferencePath path(FixtureOptions{std::nullopt, 1u << 20, {"flaky"}});
  const auto before = path.workerPids();
  RequestInfo info;
  info.model = "flaky";
  info.deadline = Clock::now() + std::chrono::milliseconds(100);
  expectFailure(path.infer(std::move(info), flaky("sleep", 1500)), ErrorKind::timeout, "deadline");
  // The same worker answers the next request once its slow predict is over.
  auto o = path.infer("flaky", flaky("echo"));
  ASSERT_TRUE(o.head) << o.failure->message;
  EXPECT_EQ(path.workerPids(), before);
}

}  // namespace
}  // namespace ringserve::supervisor::dispatch::test
