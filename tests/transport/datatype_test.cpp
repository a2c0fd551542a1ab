// The base library's datatype table (transport/datatype.hpp) against the schema it names, and the
// JSON text helpers (transport/json_text.hpp) every process writes with.
#include "transport/datatype.hpp"

#include <capnp/schema.h>
#include <gtest/gtest.h>

#include <string>

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

}  // namespace
}  // namespace ringserve::transport
