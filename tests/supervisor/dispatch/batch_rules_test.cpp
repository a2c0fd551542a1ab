// Adaptive batching's rules (supervisor/dispatch/batch_rules.hpp): rows, what merges, and the
// split of a batched result, on hand-built requests and results with no worker.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "supervisor/dispatch/batch_rules.hpp"
#include "supervisor/settings/model_settings.hpp"

namespace ringserve::supervisor::dispatch {
namespace {

using codec::DataType;

codec::DecodedInput input(std::string name, DataType type, std::vector<std::int64_t> shape, std::string params = "") {
  codec::DecodedInput in;
  in.name = std::move(name);
  in.datatype = type;
  in.shape = std::move(shape);
  in.parametersJson = std::move(params);
  return in;
}

codec::DecodedRequest request(std::vector<codec::DecodedInput> inputs, std::string params = "{\"headers\":{}}") {
  codec::DecodedRequest r;
  r.inputs = std::move(inputs);
  r.parametersJson = std::move(params);
  return r;
}

bool batchingEnabled(std::int64_t maxBatchSize, double maxBatchTime) {
  settings::ModelSettings s;
  s.maxBatchSize = maxBatchSize;
  s.maxBatchTime = maxBatchTime;
  return s.batching();
}

TEST(BatchRules, EnabledOnlyWithBothSettings) {
  EXPECT_TRUE(batchingEnabled(2, 0.001));
  EXPECT_FALSE(batchingEnabled(1, 0.001));
  EXPECT_FALSE(batchingEnabled(32, 0));
  EXPECT_FALSE(batchingEnabled(0, 1));
}

TEST(BatchRules, RowsAreTheSharedFirstDimension) {
  EXPECT_EQ(rowsOf(request({input("a", DataType::FP32, {3, 4}), input("b", DataType::BYTES, {3})})), 3u);
  EXPECT_EQ(rowsOf(request({})), std::nullopt);
  EXPECT_EQ(rowsOf(request({input("a", DataType::FP32, {})})), std::nullopt);
  EXPECT_EQ(rowsOf(request({input("a", DataType::FP32, {0, 4})})), std::nullopt);
  EXPECT_EQ(rowsOf(request({input("a", DataType::FP32, {2, 4}), input("b", DataType::FP32, {3, 4})})), std::nullopt);
}

TEST(BatchRules, HeadersAreNotParameters) {
  EXPECT_EQ(parametersWithoutHeaders("{\"a\":1,\"headers\":{\"x\":\"y\"}}"), "{\"a\":1,");
  EXPECT_EQ(parametersWithoutHeaders("{\"headers\":{}}"), "{");
  EXPECT_EQ(parametersWithoutHeaders("{\"a\":1}"), "{\"a\":1}");
}

TEST(BatchRules, WhatMerges) {
  const auto base = request({input("x", DataType::FP32, {1, 4}), input("s", DataType::BYTES, {1})});
  auto other = request({input("x", DataType::FP32, {5, 4}), input("s", DataType::BYTES, {5})},
                       "{\"headers\":{\"user-agent\":\"other\"}}");
  EXPECT_TRUE(mergeable(base, other)) << "first dimension and headers may differ";

  auto renamed = other;
  renamed.inputs[0].name = "y";
  EXPECT_FALSE(mergeable(base, renamed));
  auto retyped = other;
  retyped.inputs[0].datatype = DataType::FP64;
  EXPECT_FALSE(mergeable(base, retyped));
  auto reshaped = other;
  reshaped.inputs[0].shape = {5, 2};
  EXPECT_FALSE(mergeable(base, reshaped));
  auto ranked = other;
  ranked.inputs[0].shape = {5, 4, 1};
  EXPECT_FALSE(mergeable(base, ranked));
  auto reordered = other;
  std::swap(reordered.inputs[0], reordered.inputs[1]);
  EXPECT_FALSE(mergeable(base, reordered));
  auto fewer = other;
  fewer.inputs.pop_back();
  EXPECT_FALSE(mergeable(base, fewer));
  auto inputParams = other;
  inputParams.inputs[0].parametersJson = "{\"content_type\":\"np\"}";
  EXPECT_FALSE(mergeable(base, inputParams));
  auto params = other;
  params.parametersJson = "{\"threshold\":0.5,\"headers\":{}}";
  EXPECT_FALSE(mergeable(base, params));
  auto outputs = other;
  outputs.outputs.push_back({"y", std::nullopt, ""});
  EXPECT_FALSE(mergeable(base, outputs)) << "a subset of outputs is not all outputs";
  auto both = base;
  both.outputs.push_back({"y", std::nullopt, ""});
  auto bothToo = outputs;
  EXPECT_TRUE(mergeable(both, bothToo));
  bothToo.outputs[0].parametersJson = "{\"binary_data\":true}";
  EXPECT_FALSE(mergeable(both, bothToo));
}

std::vector<std::byte> bytesTensor(const std::vector<std::string>& elements) {
  std::vector<std::byte> out;
  for (const auto& e : elements) {
    const auto len = static_cast<std::uint32_t>(e.size());
    const auto* p = reinterpret_cast<const std::byte*>(&len);
    out.insert(out.end(), p, p + 4);
    const auto* q = reinterpret_cast<const std::byte*>(e.data());
    out.insert(out.end(), q, q + e.size());
  }
  return out;
}

TEST(BatchRules, RowBoundaries) {
  std::vector<std::byte> fp32(2 * 3 * 4);
  const std::vector<std::int64_t> shape{2, 3};
  auto at = rowBoundaries(DataType::FP32, shape, fp32, "y");
  ASSERT_TRUE(at) << at.error().message;
  EXPECT_EQ(at.value(), (std::vector<std::uint64_t>{0, 12, 24}));
  EXPECT_FALSE(rowBoundaries(DataType::FP32, shape, std::span(fp32).first(20), "y"));
  const std::vector<std::int64_t> huge{2, std::int64_t{1} << 62};
  EXPECT_FALSE(rowBoundaries(DataType::FP32, huge, fp32, "y"));

  const auto strings = bytesTensor({"a", "", "ccc", "dd"});
  const std::vector<std::int64_t> twoByTwo{2, 2};
  auto b = rowBoundaries(DataType::BYTES, twoByTwo, strings, "s");
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(b.value(), (std::vector<std::uint64_t>{0, 9, 22}));
  auto cut = rowBoundaries(DataType::BYTES, twoByTwo, std::span(strings).first(strings.size() - 1), "s");
  ASSERT_FALSE(cut);
  EXPECT_NE(cut.error().message.find("s [2,2]"), std::string::npos) << cut.error().message;
  auto extra = strings;
  extra.push_back(std::byte{0});
  EXPECT_FALSE(rowBoundaries(DataType::BYTES, twoByTwo, extra, "s"));
  const std::vector<std::int64_t> tooManyRows{std::int64_t{1} << 40, 0};  // 0 bytes each: no size to refuse it
  auto lie = rowBoundaries(DataType::FP32, tooManyRows, {}, "y");
  ASSERT_FALSE(lie);
  EXPECT_NE(lie.error().message.find("more rows than a batch can hold"), std::string::npos);
  const std::vector<std::int64_t> zeroWidth{3, 0};
  auto empty = rowBoundaries(DataType::BYTES, zeroWidth, {}, "s");
  ASSERT_TRUE(empty) << empty.error().message;
  EXPECT_EQ(empty.value(), (std::vector<std::uint64_t>{0, 0, 0, 0}));
  const std::vector<std::int64_t> scalar{};
  EXPECT_FALSE(rowBoundaries(DataType::FP32, scalar, fp32, "y"));
}

// A batched result whose outputs live at offsets into `arena` (a stand-in for the response arena).
struct FakeResult {
  capnp::MallocMessageBuilder message;
  std::vector<std::byte> arena;
  void add(const std::string& name, DataType type, std::vector<std::int64_t> shape, std::vector<std::byte> data) {
    outputs.push_back({name, type, std::move(shape), arena.size(), data.size()});
    arena.insert(arena.end(), data.begin(), data.end());
  }
  schema::InferResult::Reader build() {
    auto root = message.initRoot<schema::InferResult>();
    root.setModelName("m");
    root.setId("batch");
    root.setParametersJson("{\"headers\":{\"x-a\":\"1\"}}");
    auto list = root.initOutputs(static_cast<unsigned>(outputs.size()));
    for (unsigned i = 0; i < outputs.size(); ++i) {
      list[i].setName(outputs[i].name);
      list[i].setDatatype(outputs[i].type);
      auto s = list[i].initShape(static_cast<unsigned>(outputs[i].shape.size()));
      for (unsigned d = 0; d < s.size(); ++d) s.set(d, outputs[i].shape[d]);
      list[i].setOffset(1000 + outputs[i].offset);
      list[i].setSize(outputs[i].size);
    }
    return root.asReader();
  }
  OutputBytes bytes() {
    return [this](std::uint64_t off, std::uint64_t size) -> Expected<std::span<const std::byte>> {
      if (off < 1000 || off - 1000 + size > arena.size()) return internalError("out of the arena");
      return std::span<const std::byte>(arena).subspan(off - 1000, size);
    };
  }
  struct Out {
    std::string name;
    DataType type;
    std::vector<std::int64_t> shape;
    std::uint64_t offset, size;
  };
  std::vector<Out> outputs;
};

TEST(BatchRules, SplitGivesEachMemberItsRows) {
  FakeResult f;
  std::vector<std::int64_t> values{10, 11, 12, 13, 14, 15};  // 3 rows of 2
  std::vector<std::byte> raw(values.size() * 8);
  std::memcpy(raw.data(), values.data(), raw.size());
  f.add("y", DataType::INT64, {3, 2}, raw);
  f.add("s", DataType::BYTES, {3}, bytesTensor({"first", "", "third!"}));
  const auto batch = f.build();
  const std::vector<std::uint64_t> rows{1, 2};
  const std::vector<std::string_view> ids{"r1", "r2"};
  auto parts = splitResult(batch, rows, ids, f.bytes());
  ASSERT_TRUE(parts) << parts.error().message;
  ASSERT_EQ(parts->size(), 2u);
  auto a = parts.value()[0].result();
  auto b = parts.value()[1].result();
  EXPECT_EQ(std::string(a.getId().cStr()), "r1");
  EXPECT_EQ(std::string(b.getId().cStr()), "r2");
  EXPECT_EQ(std::string(b.getParametersJson().cStr()), "{\"headers\":{\"x-a\":\"1\"}}");
  ASSERT_EQ(a.getOutputs().size(), 2u);
  EXPECT_EQ(a.getOutputs()[0].getShape()[0], 1);
  EXPECT_EQ(a.getOutputs()[0].getShape()[1], 2);
  EXPECT_EQ(a.getOutputs()[0].getOffset(), 1000u);
  EXPECT_EQ(a.getOutputs()[0].getSize(), 16u);
  EXPECT_EQ(b.getOutputs()[0].getShape()[0], 2);
  EXPECT_EQ(b.getOutputs()[0].getOffset(), 1016u);
  EXPECT_EQ(b.getOutputs()[0].getSize(), 32u);
  EXPECT_EQ(std::string(b.getOutputs()[1].getName().cStr()), "s");
  EXPECT_EQ(a.getOutputs()[1].getSize(), 9u);  // "first" with its prefix
  EXPECT_EQ(b.getOutputs()[1].getOffset(), 1000u + 48 + 9);
  EXPECT_EQ(b.getOutputs()[1].getSize(), 4u + 4 + 6);
}

TEST(BatchRules, AnOutputWithoutTheBatchDimensionFailsTheBatch) {
  FakeResult f;
  f.add("y", DataType::FP32, {2}, std::vector<std::byte>(8));  // a batch of 3 rows answered with 2
  const auto batch = f.build();
  const std::vector<std::uint64_t> rows{1, 2};
  const std::vector<std::string_view> ids{"r1", "r2"};
  auto parts = splitResult(batch, rows, ids, f.bytes());
  ASSERT_FALSE(parts);
  EXPECT_EQ(parts.error().kind, ErrorKind::internal);
  EXPECT_NE(parts.error().message.find("output y has shape [2] for a batch of 3 rows"), std::string::npos)
      << parts.error().message;

  FakeResult g;
  g.add("y", DataType::FP32, {3}, std::vector<std::byte>(8));  // the right shape, too few bytes
  const auto lying = g.build();
  EXPECT_FALSE(splitResult(lying, rows, ids, g.bytes()));
}

}  // namespace
}  // namespace ringserve::supervisor::dispatch
