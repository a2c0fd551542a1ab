// Pure-function tests of the load generator's parts: histogram, HTTP response parser, binary
// codec, V2 JSON, request building, batching, URLs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "clients/loadgen/batching.hpp"
#include "clients/loadgen/bench_command.hpp"
#include "clients/loadgen/binary_codec.hpp"
#include "clients/loadgen/error.hpp"
#include "clients/loadgen/histogram.hpp"
#include "clients/loadgen/request_body.hpp"
#include "clients/loadgen/response_parser.hpp"
#include "clients/loadgen/url.hpp"
#include "clients/loadgen/v2_json.hpp"

using namespace ringserve::loadgen;
using ::testing::ElementsAre;

TEST(Histogram, BucketsAreContiguousAndWithinOnePercent) {
  for (std::size_t i = 1; i < Histogram::kBuckets; ++i)
    ASSERT_EQ(Histogram::bucketLow(i), Histogram::bucketHigh(i - 1) + 1) << i;
  for (std::uint64_t v : {0ULL, 1ULL, 255ULL, 256ULL, 1000ULL, 123456ULL, 999'999'999ULL, 59'999'999'999ULL}) {
    const std::size_t b = Histogram::bucketOf(v);
    EXPECT_LE(Histogram::bucketLow(b), v);
    EXPECT_GE(Histogram::bucketHigh(b), v);
    if (v >= 1000) {
      EXPECT_LE(double(Histogram::bucketHigh(b) - Histogram::bucketLow(b)) / double(v), 0.01);
    }
  }
  EXPECT_LT(Histogram::bucketOf(Histogram::kMax), Histogram::kBuckets);
  EXPECT_EQ(Histogram::bucketOf(Histogram::kMax * 10), Histogram::bucketOf(Histogram::kMax));
}

TEST(Histogram, QuantilesOfAUniformSpread) {
  Histogram h;
  for (std::uint64_t v = 1; v <= 100000; ++v) h.record(v * 1000);  // 1 us .. 100 ms
  EXPECT_EQ(h.count(), 100000u);
  EXPECT_NEAR(double(h.quantile(0.5)), 50e6, 50e6 * 0.01);
  EXPECT_NEAR(double(h.quantile(0.99)), 99e6, 99e6 * 0.01);
  EXPECT_NEAR(double(h.quantile(0.999)), 99.9e6, 99.9e6 * 0.01);
  EXPECT_EQ(h.quantile(1.0), 100'000'000u);
  EXPECT_EQ(h.max(), 100'000'000u);
  EXPECT_EQ(h.min(), 1000u);
  EXPECT_NEAR(h.mean(), 50.0005e6, 1);
  Histogram other;
  other.record(200'000'000);
  h.merge(other);
  EXPECT_EQ(h.count(), 100001u);
  EXPECT_EQ(h.max(), 200'000'000u);
  Histogram empty;
  EXPECT_EQ(empty.quantile(0.5), 0u);
  EXPECT_EQ(empty.min(), 0u);
}

TEST(ResponseParser, ContentLengthAcrossArbitrarySplits) {
  const std::string two =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\nhello"
      "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 3\r\nInference-Header-Content-Length: 2\r\n\r\nabc";
  for (std::size_t step = 1; step <= two.size(); ++step) {
    ResponseParser p(true);
    std::size_t pos = 0;
    std::vector<std::pair<int, std::string>> got;
    while (pos < two.size()) {
      const std::size_t n = std::min(step, two.size() - pos);
      std::size_t used = 0;
      while (used < n) {
        used += p.feed(two.data() + pos + used, n - used);
        ASSERT_FALSE(p.failed()) << p.error();
        if (p.done()) {
          got.emplace_back(p.status(), p.body());
          if (got.size() == 2) {
            EXPECT_EQ(p.header("inference-header-content-length"), "2");
          }
          p.reset();
        } else {
          break;
        }
      }
      pos += n;
    }
    ASSERT_EQ(got.size(), 2u) << "step " << step;
    EXPECT_EQ(got[0], std::make_pair(200, std::string("hello")));
    EXPECT_EQ(got[1], std::make_pair(503, std::string("abc")));
  }
}

TEST(ResponseParser, ChunkedBodyAndTrailers) {
  const std::string r = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nWiki\r\n5\r\npedia\r\n0\r\nT: v\r\n\r\n";
  ResponseParser p(true);
  EXPECT_EQ(p.feed(r.data(), r.size()), r.size());
  ASSERT_TRUE(p.done());
  EXPECT_EQ(p.body(), "Wikipedia");
  EXPECT_TRUE(p.keepAlive());
}

TEST(ResponseParser, BodyUntilCloseAndConnectionClose) {
  ResponseParser p(true);
  const std::string r = "HTTP/1.0 200 OK\r\n\r\npartial";
  p.feed(r.data(), r.size());
  EXPECT_FALSE(p.done());
  p.onEof();
  ASSERT_TRUE(p.done());
  EXPECT_EQ(p.body(), "partial");
  EXPECT_FALSE(p.keepAlive());

  ResponseParser q;
  const std::string c = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
  q.feed(c.data(), c.size());
  ASSERT_TRUE(q.done());
  EXPECT_FALSE(q.keepAlive());
  EXPECT_EQ(q.bodyBytes(), 0u);
}

TEST(ResponseParser, SkipsInterimResponses) {
  ResponseParser p;
  const std::string r = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
  EXPECT_EQ(p.feed(r.data(), r.size()), r.size());
  ASSERT_TRUE(p.done());
  EXPECT_EQ(p.status(), 204);
}

TEST(ResponseParser, MalformedInputIsAnError) {
  for (const std::string& bad : {std::string("SMTP 220 hello\r\n"), std::string("HTTP/1.1 2x0 OK\r\n"),
                                std::string("HTTP/1.1 200 OK\r\nno colon here\r\n"),
                                std::string("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n"),
                                std::string("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n"),
                                std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
                                std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n")}) {
    ResponseParser p;
    p.feed(bad.data(), bad.size());
    EXPECT_TRUE(p.failed()) << bad;
    EXPECT_FALSE(p.error().empty());
  }
  ResponseParser longLine;
  const std::string huge = "HTTP/1.1 200 OK\r\nX: " + std::string(70000, 'a');
  longLine.feed(huge.data(), huge.size());
  EXPECT_TRUE(longLine.failed());
  ResponseParser truncated;
  const std::string part = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
  truncated.feed(part.data(), part.size());
  truncated.onEof();
  EXPECT_TRUE(truncated.failed());
}

TEST(BinaryCodec, RoundTripsEveryDatatype) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"BOOL", {"true", "false", "true"}},  {"UINT8", {"0", "255"}},         {"INT8", {"-128", "127"}},
      {"UINT16", {"65535"}},                {"INT16", {"-32768"}},           {"UINT32", {"4294967295"}},
      {"INT32", {"-2147483648", "7"}},      {"UINT64", {"18446744073709551615"}}, {"INT64", {"-9223372036854775807"}},
      {"FP16", {"1.5", "-0.25", "65504"}},  {"BF16", {"1.5", "-2"}},         {"FP32", {"0.1", "-3.5", "1e+30"}},
      {"FP64", {"0.1", "1e-300"}},          {"BYTES", {"", "abc", std::string("a\0b", 3)}}};
  for (const auto& [dt, elems] : cases) {
    Tensor t{"x", dt, {std::int64_t(elems.size())}, "", elems};
    std::string raw;
    appendBinary(t, raw);
    if (dt != "BYTES") {
      EXPECT_EQ(raw.size(), elems.size() * datatypeSize(dt)) << dt;
    }
    EXPECT_EQ(decodeBinary(dt, raw, elems.size(), "x"), elems) << dt;
  }
}

TEST(BinaryCodec, RejectsWhatDoesNotFit) {
  EXPECT_THROW(datatypeSize("FP8"), LoadgenError);
  for (const auto& [dt, e] : std::vector<std::pair<std::string, std::string>>{
           {"UINT8", "256"}, {"INT8", "-129"}, {"UINT32", "-1"}, {"INT32", "1.5"}, {"FP32", "abc"}, {"BOOL", "2"}}) {
    Tensor t{"x", dt, {1}, "", {e}};
    std::string raw;
    EXPECT_THROW(appendBinary(t, raw), LoadgenError) << dt << " " << e;
  }
  EXPECT_THROW(decodeBinary("FP32", std::string(7, '\0'), 2, "y"), LoadgenError);
  EXPECT_THROW(decodeBinary("BYTES", std::string("\5\0\0\0ab", 6), 1, "y"), LoadgenError);
  EXPECT_THROW(decodeBinary("BYTES", std::string("\1\0\0\0abc", 7), 1, "y"), LoadgenError);
}

// The conversions themselves are transport/half.hpp's (tested with the codec); here: bench and
// infer encode and decode FP16/BF16 elements through them.
TEST(BinaryCodec, HalfAndBfloatElements) {
  Tensor t;
  t.name = "h";
  t.datatype = "FP16";
  t.elements = {"1.0", "-2", "65504", "1e6"};
  std::string raw;
  appendBinary(t, raw);
  EXPECT_EQ(raw, std::string("\x00\x3c\x00\xc0\xff\x7b\x00\x7c", 8));  // 1e6 overflows to inf
  EXPECT_THAT(decodeBinary("FP16", std::string("\x55\x35", 2), 1, "y"), ElementsAre("0.33325195"));
  t.datatype = "BF16";
  t.elements = {"1.0"};
  raw.clear();
  appendBinary(t, raw);
  EXPECT_EQ(raw, std::string("\x80\x3f", 2));
  EXPECT_THAT(decodeBinary("BF16", std::string("\x00\xc0", 2), 1, "y"), ElementsAre("-2"));
}

TEST(V2Json, ParsesNestedDataAndKeepsTokens) {
  const V2Request r = parseRequestJson(
      R"({"id":"a1","parameters":{"p":1,"binary_data_size":9},"inputs":[{"name":"x","shape":[2,2],"datatype":"FP32",)"
      R"("data":[[1,2.5],[3,-4e-3]],"parameters":{"content_type":"np"}},)"
      R"({"name":"s","shape":[2],"datatype":"BYTES","data":["h\"i","\u00e9"]}],"outputs":[{"name":"o"}]})");
  EXPECT_EQ(r.id, "a1");
  EXPECT_EQ(r.parametersJson, R"({"p":1})");
  ASSERT_EQ(r.inputs.size(), 2u);
  EXPECT_EQ(r.inputs[0].elements, (std::vector<std::string>{"1", "2.5", "3", "-0.004"}));
  EXPECT_EQ(r.inputs[0].parametersJson, R"({"content_type":"np"})");
  EXPECT_EQ(r.inputs[1].elements, (std::vector<std::string>{"h\"i", "\xc3\xa9"}));
  EXPECT_EQ(r.outputsJson, R"([{"name":"o"}])");
}

TEST(V2Json, RejectsMalformedRequestsWithAReason) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"{", "malformed JSON"},
      {"[]", "not a JSON object"},
      {R"({"inputs":{}})", "inputs"},
      {R"({"inputs":[{"shape":[1],"datatype":"FP32","data":[1]}]})", "name"},
      {R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP8","data":[1]}]})", "unknown datatype"},
      {R"({"inputs":[{"name":"x","shape":[2],"datatype":"FP32","data":[1]}]})", "shape has 2 elements but data has 1"},
      {R"({"inputs":[{"name":"x","shape":[-1],"datatype":"FP32","data":[1]}]})", "non-negative"},
      {R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":["a"]}]})", "string element"},
      {R"({"inputs":[{"name":"x","shape":[1],"datatype":"BYTES","data":[1]}]})", "must be strings"},
      {R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32"}]})", "no \"data\""},
      {R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[null]}]})", "null"},
  };
  for (const auto& [json, why] : bad) {
    try {
      parseRequestJson(json);
      ADD_FAILURE() << "accepted " << json;
    } catch (const LoadgenError& e) {
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
    }
  }
}

TEST(V2Json, BinaryResponseAndErrorBodies) {
  std::string raw;
  appendBinary(Tensor{"o", "INT32", {2}, "", {"5", "-6"}}, raw);
  const std::string json =
      R"({"model_name":"m","id":"r","outputs":[{"name":"o","shape":[2],"datatype":"INT32","parameters":{"binary_data_size":8}}]})";
  const V2Response r = parseResponse(json + raw, json.size());
  ASSERT_EQ(r.outputs.size(), 1u);
  EXPECT_EQ(r.outputs[0].elements, (std::vector<std::string>{"5", "-6"}));
  EXPECT_EQ(r.outputs[0].parametersJson, "");
  EXPECT_THROW(parseResponse(json + raw.substr(0, 4), json.size()), LoadgenError);
  EXPECT_THROW(parseResponse(json, json.size() + 1), LoadgenError);
  EXPECT_EQ(errorMessage(R"({"error":"Model foo not found"})"), "Model foo not found");
  EXPECT_EQ(errorMessage("Internal Server Error\n"), "Internal Server Error");
  EXPECT_EQ(writeResponseJson(r),
            R"({"model_name":"m","id":"r","outputs":[{"name":"o","shape":[2],"datatype":"INT32","data":[5,-6]}]})");
}

TEST(RequestBody, JsonAndBinaryEncodingsOfTheSameRequest) {
  V2Request r = generateRequest({1, 3}, "INT16", "in");
  r.id = "q";
  const EncodedBody j = encodeRequest(r, false, false);
  EXPECT_FALSE(j.binary);
  EXPECT_EQ(j.bytes, R"({"id":"q","inputs":[{"name":"in","shape":[1,3],"datatype":"INT16","data":[0,1,2]}]})");
  const EncodedBody b = encodeRequest(r, true, true);
  EXPECT_TRUE(b.binary);
  EXPECT_EQ(b.bytes.substr(0, b.jsonLength),
            R"({"id":"q","parameters":{"binary_data_output":true},"inputs":[{"name":"in","shape":[1,3],"datatype":"INT16",)"
            R"("parameters":{"binary_data_size":6}}]})");
  EXPECT_EQ(b.bytes.size(), b.jsonLength + 6);
  const V2Request back = parseRequestJson(j.bytes);
  EXPECT_EQ(back.inputs[0].elements, r.inputs[0].elements);

  Endpoint ep = parseEndpoint("http://127.0.0.1:9/base/");
  const std::string http = buildHttpRequest(ep, inferPath(ep, "m", "2"), {{"X-Extra", "1"}}, b);
  EXPECT_TRUE(http.starts_with("POST /base/v2/models/m/versions/2/infer HTTP/1.1\r\nHost: 127.0.0.1:9\r\n"));
  EXPECT_NE(http.find("Inference-Header-Content-Length: " + std::to_string(b.jsonLength) + "\r\n"), std::string::npos);
  EXPECT_NE(http.find("X-Extra: 1\r\n"), std::string::npos);
  EXPECT_TRUE(http.ends_with("\r\n\r\n" + b.bytes));
}

TEST(RequestBody, OptionParsing) {
  EXPECT_EQ(parseShape("1, 16"), (std::vector<std::int64_t>{1, 16}));
  EXPECT_THROW(parseShape("1,x"), LoadgenError);
  EXPECT_THROW(parseShape(""), LoadgenError);
  EXPECT_THROW(parseShape("-1"), LoadgenError);
  EXPECT_EQ(parseHeaderOption("A-B: c d"), std::make_pair(std::string("A-B"), std::string("c d")));
  EXPECT_EQ(parseHeaderOption("k=v"), std::make_pair(std::string("k"), std::string("v")));
  EXPECT_THROW(parseHeaderOption("novalue"), LoadgenError);
  EXPECT_THROW(parseHeaderOption("bad name:v"), LoadgenError);
  EXPECT_EQ(parseSizeList("64,4K,1M"), (std::vector<std::uint64_t>{64, 4096, 1048576}));
  EXPECT_THROW(parseSizeList("0"), LoadgenError);
  EXPECT_THROW(parseSizeList("12Q"), LoadgenError);
  EXPECT_EQ(parseCountList("1,2,8"), (std::vector<unsigned>{1, 2, 8}));
  EXPECT_THROW(parseCountList("1,,2"), LoadgenError);
}

TEST(Url, FormsAndErrors) {
  const Endpoint a = parseEndpoint("localhost:8080");
  EXPECT_EQ(a.host, "localhost");
  EXPECT_EQ(a.port, 8080);
  EXPECT_EQ(a.basePath, "");
  const Endpoint b = parseEndpoint("http://[::1]:81/x");
  EXPECT_EQ(b.host, "::1");
  EXPECT_EQ(b.hostHeader(), "[::1]:81");
  EXPECT_EQ(b.basePath, "/x");
  EXPECT_EQ(parseEndpoint("http://127.0.0.1").port, 80);
  EXPECT_THROW(parseEndpoint("https://127.0.0.1:1"), LoadgenError);
  EXPECT_THROW(parseEndpoint("ftp://x"), LoadgenError);
  EXPECT_THROW(parseEndpoint("http://127.0.0.1:99999"), LoadgenError);
  EXPECT_THROW(parseEndpoint("http://:80"), LoadgenError);
  EXPECT_THROW(parseEndpoint("http://no-such-host.invalid:80"), LoadgenError);
}

TEST(Batching, MergesAlongTheFirstAxisAndSplitsBack) {
  std::vector<V2Request> parts;
  for (int i = 0; i < 3; ++i) {
    V2Request r = generateRequest({i + 1, 2}, "INT32", "x");
    parts.push_back(r);
  }
  const MergedRequest m = mergeRequests(parts, "batch");
  EXPECT_EQ(m.request.id, "batch");
  EXPECT_EQ(m.request.inputs[0].shape, (std::vector<std::int64_t>{6, 2}));
  EXPECT_EQ(m.rows, (std::vector<std::int64_t>{1, 2, 3}));
  V2Response whole;
  whole.outputs.push_back(m.request.inputs[0]);
  const auto split = splitResponse(whole, m.rows);
  ASSERT_EQ(split.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(split[std::size_t(i)].outputs[0].shape, parts[std::size_t(i)].inputs[0].shape);
    EXPECT_EQ(split[std::size_t(i)].outputs[0].elements, parts[std::size_t(i)].inputs[0].elements);
  }
  whole.outputs[0].shape[0] = 5;
  EXPECT_THROW(splitResponse(whole, m.rows), LoadgenError);
  parts[1].inputs[0].datatype = "FP32";
  EXPECT_THROW(mergeRequests(parts, "b"), LoadgenError);
}
