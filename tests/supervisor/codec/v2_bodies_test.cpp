// The V2 bodies other than inference, parsed back with simdjson: what a client reads.
#include <gtest/gtest.h>
#include <simdjson.h>

#include "supervisor/codec/v2_bodies.hpp"

namespace ringserve::supervisor::codec {
namespace {

simdjson::dom::element parse(simdjson::dom::parser& p, const std::string& body) {
  simdjson::dom::element e;
  EXPECT_EQ(p.parse(body).get(e), simdjson::SUCCESS) << body;
  return e;
}

TEST(V2Bodies, HealthAndServerMetadata) {
  EXPECT_EQ(liveBody(), R"({"live":true})");
  EXPECT_EQ(serverReadyBody(true), R"({"ready":true})");
  EXPECT_EQ(serverReadyBody(false), R"({"ready":false})");
  const std::vector<std::string> ext = {"a", "b\"c"};
  EXPECT_EQ(serverMetadataBody("srv", "1.0", ext), R"({"name":"srv","version":"1.0","extensions":["a","b\"c"]})");
  EXPECT_EQ(serverMetadataBody("srv", "1.0", {}), R"({"name":"srv","version":"1.0","extensions":[]})");
}

TEST(V2Bodies, ModelReadyEscapesTheName) {
  EXPECT_EQ(modelReadyBody("m\n1", true), R"({"name":"m\n1","ready":true})");
  EXPECT_EQ(modelReadyBody("m", false), R"({"name":"m","ready":false})");
}

TEST(V2Bodies, ModelMetadataWithTensorsAndContentTypes) {
  const std::vector<std::string> versions = {"numpy/1.26"};
  const std::vector<std::int64_t> shape = {-1, 4};
  ModelMetadata m{"iris", versions, "sklearn", {{"x", "FP64", shape, "np"}}, {{"y", "INT64", {}, ""}}, "np"};
  EXPECT_EQ(modelMetadataBody(m),
            R"({"name":"iris","versions":["numpy/1.26"],"platform":"sklearn",)"
            R"("inputs":[{"name":"x","datatype":"FP64","shape":[-1,4],"parameters":{"content_type":"np"}}],)"
            R"("outputs":[{"name":"y","datatype":"INT64","shape":[]}],"parameters":{"content_type":"np"}})");
  ModelMetadata bare{"e", {}, "", {}, {}, std::nullopt};
  EXPECT_EQ(modelMetadataBody(bare),
            R"({"name":"e","versions":[],"platform":"","inputs":[],"outputs":[],"parameters":{}})");
}

TEST(V2Bodies, RepositoryIndex) {
  const std::vector<IndexEntryText> rows = {{"a", "", "READY", ""}, {"b", "2", "UNAVAILABLE", "crashed \"x\""}};
  simdjson::dom::parser p;
  auto doc = parse(p, repositoryIndexBody(rows));
  ASSERT_TRUE(doc.is_array());
  EXPECT_EQ(doc.get_array().size(), 2u);
  EXPECT_EQ(std::string_view(doc.at(1)["reason"]), "crashed \"x\"");
  EXPECT_EQ(std::string_view(doc.at(1)["state"]), "UNAVAILABLE");
  EXPECT_EQ(repositoryIndexBody({}), "[]");
}

TEST(V2Bodies, RepositoryIndexRequest) {
  auto none = parseRepositoryIndexRequest("");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto empty = parseRepositoryIndexRequest("{}");
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->has_value());
  auto ready = parseRepositoryIndexRequest(R"({"ready": false})");
  ASSERT_TRUE(ready.ok());
  ASSERT_TRUE(ready->has_value());
  EXPECT_FALSE(**ready);
  for (const char* bad : {"[]", "not json", "{\"ready\":", "1"}) {
    auto r = parseRepositoryIndexRequest(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().kind, ErrorKind::badInput);
    EXPECT_NE(r.error().message.find("JSON object"), std::string::npos);
  }
}

}  // namespace
}  // namespace ringserve::supervisor::codec
