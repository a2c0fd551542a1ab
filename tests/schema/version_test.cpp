#include <gtest/gtest.h>

#include "schema/version.hpp"
#include "worker.capnp.h"

using namespace ringserve;

TEST(ProtocolCompatibility, SameVersionIsSupported) {
  EXPECT_EQ(protocolCompatibility(ProtocolVersion{1, 3}, 0, ProtocolVersion{1, 3}), Compatibility::supported);
}

TEST(ProtocolCompatibility, OlderMinorWithinRangeIsSupported) {
  EXPECT_EQ(protocolCompatibility(ProtocolVersion{1, 3}, 1, ProtocolVersion{1, 1}), Compatibility::supported);
  EXPECT_EQ(protocolCompatibility(ProtocolVersion{1, 3}, 1, ProtocolVersion{1, 0}), Compatibility::unsupported);
}

TEST(ProtocolCompatibility, NewerMinorIsUntested) {
  EXPECT_EQ(protocolCompatibility(ProtocolVersion{1, 3}, 0, ProtocolVersion{1, 4}), Compatibility::untested);
}

TEST(ProtocolCompatibility, OtherMajorIsUnsupported) {
  EXPECT_EQ(protocolCompatibility(ProtocolVersion{1, 3}, 0, ProtocolVersion{2, 0}), Compatibility::unsupported);
  EXPECT_EQ(protocolCompatibility(ProtocolVersion{2, 0}, 0, ProtocolVersion{1, 9}), Compatibility::unsupported);
}

TEST(ProtocolCompatibility, ThisBuildAcceptsItself) {
  EXPECT_EQ(protocolCompatibility(kProtocolVersion), Compatibility::supported);
  EXPECT_EQ(toString(kProtocolVersion), std::to_string(kProtocolMajor) + "." + std::to_string(kProtocolMinor));
}

TEST(SdkAbi, SameMajorOlderMinorOnly) {
  EXPECT_TRUE(sdkAbiCompatible(kSdkAbiMajor, kSdkAbiMinor));
  EXPECT_TRUE(sdkAbiCompatible(kSdkAbiMajor, 0));
  EXPECT_FALSE(sdkAbiCompatible(kSdkAbiMajor + 1, 0));
  EXPECT_FALSE(sdkAbiCompatible(kSdkAbiMajor, kSdkAbiMinor + 1));
}

TEST(Schema, HasStableIds) {
  EXPECT_EQ(capnp::typeId<schema::Hello>() != kWorkerSchemaId, true);  // struct ids differ from the file id
  // The handshake carries the schema id; it must be the file id written in worker.capnp.
  EXPECT_EQ(capnp::typeId<schema::Hello>() != 0, true);
  EXPECT_NE(capnp::typeId<schema::InferRequest>(), capnp::typeId<schema::InferResponse>());
}
