// The base library's datatype table (transport/datatype.hpp) against the schema it names, the BYTES
// element walk (transport/bytes_elements.hpp) and the JSON text helpers (transport/json_text.hpp).
#include "transport/datatype.hpp"

#include <capnp/schema.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "transport/bytes_elements.hpp"
#include "transport/json_text.hpp"

namespace ringserve::transport {
namespace {

TEST(DataTypeTable, EverySchemaEnumerantHasANameAndSizeThatRoundTrip) {
  const auto enumerants = capnp::Schema::from<DataType>().getEnumerants();
  ASSERT_EQ(enumerants.size(), 14u) << "a new datatype: add it to transport/datatype.cpp, abi.h and worker/datatype_pins.cpp";
  for (const auto e : enumerants) {
    const auto type = static_cast<DataType>(e.getOrdinal());
    const std::string name(dataTypeName(type));
    std::string upper(e.getProto().getName().cStr());
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_EQ(name, upper);
    ASSERT_TRUE(parseDataType(name).has_value()) << name;
    EXPECT_EQ(*parseDataType(name), type);
    EXPECT_EQ(elementSize(type) == 0, type == DataType::BYTES) << name;
  }
  EXPECT_EQ(elementSize(DataType::FP16), 2u);
  EXPECT_EQ(elementSize(DataType::INT64), 8u);
  EXPECT_FALSE(parseDataType("fp32").has_value()) << "the V2 spelling is upper-case";
  EXPECT_FALSE(parseDataType("FP8").has_value());
}

TEST(JsonText, EscapesControlCharactersAndChecksUtf8) {
  std::string out;
  appendJsonString(out, std::string("a\"b\\c\n\x01\t", 8));
  EXPECT_EQ(out, R"("a\"b\\c\n\u0001\t")");
  EXPECT_TRUE(validUtf8("caf\xC3\xA9"));
  EXPECT_FALSE(validUtf8("\xC3"));
  EXPECT_EQ(sanitizedUtf8("a\xFF" "b"), "a\xEF\xBF\xBD" "b");
}

std::vector<std::byte> bytesTensor(std::string_view raw) {
  const auto* p = reinterpret_cast<const std::byte*>(raw.data());
  return {p, p + raw.size()};
}

TEST(BytesWalk, ReadsEveryElementAndStopsAtTheFirstBadLength) {
  const auto good = bytesTensor(std::string_view("\2\0\0\0hi\0\0\0\0\1\0\0\0x", 15));
  std::vector<std::string> seen;
  auto w = walkBytes(good, kAllElements, [&](std::uint64_t, std::string_view e) { seen.emplace_back(e); });
  EXPECT_EQ(w.stop, BytesWalk::Stop::done);
  EXPECT_EQ(w.count, 3u);
  EXPECT_EQ(w.end, good.size());
  EXPECT_EQ(seen, (std::vector<std::string>{"hi", "", "x"}));

  w = walkBytes(good, 2);  // exactly two: the third is left for the caller to see through `end`
  EXPECT_EQ(w.stop, BytesWalk::Stop::done);
  EXPECT_EQ(w.count, 2u);
  EXPECT_EQ(w.end, 10u);
  EXPECT_EQ(walkBytes(good, 4).stop, BytesWalk::Stop::truncatedLength) << "asked for more than there are";

  w = walkBytes(bytesTensor(std::string_view("\1\0\0\0a\3\0", 7)));
  EXPECT_EQ(w.stop, BytesWalk::Stop::truncatedLength);
  EXPECT_EQ(w.count, 1u);
  w = walkBytes(bytesTensor(std::string_view("\xff\xff\xff\xff" "ab", 6)));  // a hostile length
  EXPECT_EQ(w.stop, BytesWalk::Stop::pastEnd);
  EXPECT_EQ(w.claimed, 0xffffffffu);
  EXPECT_EQ(w.remaining, 2u);
  EXPECT_EQ(walkBytes({}).count, 0u);
}

}  // namespace
}  // namespace ringserve::transport
