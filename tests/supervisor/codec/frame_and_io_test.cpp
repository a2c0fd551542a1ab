// writeRequestFrame read back through the transport's FrameReader, and the evbuffer adapters.
#include <event2/buffer.h>
#include <gtest/gtest.h>

#include <cstring>
#include <map>

#include "supervisor/codec/cloud_events.hpp"
#include "supervisor/codec/evbuffer_io.hpp"
#include "supervisor/codec/request_decoder.hpp"
#include "supervisor/codec/request_frame.hpp"
#include "test_arena.hpp"
#include "transport/frame.hpp"

namespace ringserve::supervisor::codec {
namespace {

using testing::TestArena;

TEST(RequestFrame, HoldsEverythingTheWorkerNeeds) {
  DecodedRequest r;
  r.id = "abc";
  r.parametersJson = R"({"headers":{"a":"b"}})";
  r.inputs.push_back({"x", DataType::FP16, {2, 3}, 128, 12, R"({"content_type":"np"})"});
  r.inputs.push_back({"s", DataType::BYTES, {1}, 256, 9, ""});
  r.outputs.push_back({"y", true, R"({"binary_data":true})"});
  TestArena arena;
  auto where = writeRequestFrame(r, 77, arena);
  ASSERT_TRUE(where.ok()) << where.error().message;
  EXPECT_EQ(where->offset % 8, 0u);
  auto frame = transport::FrameReader::open(arena.view(where->offset, where->size));
  ASSERT_TRUE(frame.ok());
  auto root = frame->root<schema::InferRequest>();
  ASSERT_TRUE(root.ok());
  auto req = *root;
  EXPECT_EQ(req.getModelHandle(), 77u);
  EXPECT_EQ(std::string(req.getId().cStr()), "abc");
  EXPECT_EQ(std::string(req.getParametersJson().cStr()), r.parametersJson);
  ASSERT_EQ(req.getInputs().size(), 2u);
  auto x = req.getInputs()[0];
  EXPECT_EQ(std::string(x.getName().cStr()), "x");
  EXPECT_EQ(x.getDatatype(), DataType::FP16);
  ASSERT_EQ(x.getShape().size(), 2u);
  EXPECT_EQ(x.getShape()[1], 3);
  EXPECT_EQ(x.getOffset(), 128u);
  EXPECT_EQ(x.getSize(), 12u);
  EXPECT_EQ(std::string(x.getParametersJson().cStr()), R"({"content_type":"np"})");
  EXPECT_EQ(req.getInputs()[1].getDatatype(), DataType::BYTES);
  ASSERT_EQ(req.getOutputs().size(), 1u);
  EXPECT_EQ(std::string(req.getOutputs()[0].getName().cStr()), "y");
}

TEST(RequestFrame, FullArenaIsAnError) {
  DecodedRequest r;
  r.id = std::string(4096, 'x');
  TestArena tiny(64);
  auto where = writeRequestFrame(r, 1, tiny);
  ASSERT_FALSE(where.ok());
  EXPECT_EQ(where.error().kind, ErrorKind::unavailable);
}

struct Evbuffer {
  evbuffer* b = evbuffer_new();
  ~Evbuffer() { evbuffer_free(b); }
};

TEST(EvbufferBody, ReadsAcrossChainsStraightIntoTheArena) {
  // A body in several chains, as libevent builds it from several reads: JSON header then tensor.
  const std::string json =
      R"({"inputs":[{"name":"a","shape":[4],"datatype":"INT32","parameters":{"binary_data_size":16}}]})";
  std::int32_t values[4] = {1, -2, 3, -4};
  Evbuffer buf;
  evbuffer_add(buf.b, json.data(), 10);
  evbuffer_add_reference(buf.b, json.data() + 10, json.size() - 10, nullptr, nullptr);
  evbuffer_add_reference(buf.b, values, 6, nullptr, nullptr);
  evbuffer_add_reference(buf.b, reinterpret_cast<char*>(values) + 6, 10, nullptr, nullptr);
  EvbufferBody body(buf.b);
  EXPECT_EQ(body.size(), json.size() + 16);
  RequestDecoder decoder;
  TestArena arena;
  std::vector<std::pair<std::string, std::string>> headers{
      {"Inference-Header-Content-Length", std::to_string(json.size())}};
  auto r = decoder.decode(body, RequestInfo{"m", headers, nullptr}, arena);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(testing::valuesAt<std::int32_t>(arena, r->inputs[0].offset, 16), (std::vector<std::int32_t>{1, -2, 3, -4}));
  EXPECT_EQ(evbuffer_get_length(buf.b), json.size() + 16) << "the body is read, not drained";
}

TEST(EvbufferSink, CopiesTextAndReferencesTensors) {
  static int cleanups = 0;
  cleanups = 0;
  const std::string tensor = "0123456789";
  {
    Evbuffer buf;
    EvbufferSink sink(
        buf.b, [](const void*, std::size_t, void* arg) { ++*static_cast<int*>(arg); }, &cleanups);
    std::string json = "{}";
    sink.appendCopy(json);
    json[0] = 'X';  // copied: later changes do not show
    sink.appendReference(std::as_bytes(std::span(tensor.data(), tensor.size())));
    sink.appendReference({});
    EXPECT_EQ(sink.references(), 1u);
    std::string out(evbuffer_get_length(buf.b), '\0');
    evbuffer_copyout(buf.b, out.data(), out.size());
    EXPECT_EQ(out, "{}0123456789");
    EXPECT_EQ(cleanups, 0);
  }
  EXPECT_EQ(cleanups, 1) << "libevent calls the cleanup once it is done with the reference";
}

TEST(CloudEvents, MlserverHeaders) {
  auto h = cloudEventsHeaders("ringserve", "iris", "req-1", true);
  std::map<std::string, std::string> m(h.begin(), h.end());
  EXPECT_EQ(m["Ce-Specversion"], "0.3");
  EXPECT_EQ(m["Ce-Source"], "io.seldon.serving.deployment.ringserve");
  EXPECT_EQ(m["Ce-Type"], "io.seldon.serving.inference.response");
  EXPECT_EQ(m["Ce-Modelid"], "iris");
  EXPECT_EQ(m["Ce-Id"], "req-1");
  EXPECT_EQ(m["Ce-Requestid"], "req-1");
  EXPECT_EQ(cloudEventsHeaders("s", "m", "i", false)[2].second, "io.seldon.serving.inference.request");
}

}  // namespace
}  // namespace ringserve::supervisor::codec
