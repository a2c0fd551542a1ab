// ringserve-env.json: round trip, every malformed field, and the compatibility decisions.
#include "supervisor/environments/manifest.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ringserve::supervisor::environments {
namespace {
using ::testing::HasSubstr;

TEST(EnvManifest, RoundTrips) {
  Manifest m = currentBuildManifest();
  m.worker = "bin/ringserve-worker";
  m.plugins.push_back({"lib/a \"quoted\".so", {1, 0}, {"A", "B"}});
  m.libraries = {"lib/libx.so.1"};
  auto back = parseManifest(manifestJson(m), "test");
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->architecture, m.architecture);
  EXPECT_EQ(back->protocol, m.protocol);
  EXPECT_EQ(back->sdkAbi, m.sdkAbi);
  EXPECT_EQ(back->createdBy, m.createdBy);
  EXPECT_EQ(back->worker, m.worker);
  ASSERT_EQ(back->plugins.size(), 1u);
  EXPECT_EQ(back->plugins[0].file, "lib/a \"quoted\".so");
  EXPECT_EQ(back->plugins[0].classes, (std::vector<std::string>{"A", "B"}));
  EXPECT_EQ(back->libraries, m.libraries);
}

TEST(EnvManifest, MalformedInputsNameTheFieldAndTheOrigin) {
  const std::string ok = R"("architecture": "x86_64", "protocol_version": "1.0", "sdk_abi": "1.0")";
  struct Case {
    std::string json, expected;
  };
  const std::vector<Case> cases = {
      {"not json", "not valid JSON"},
      {"[1]", "must be a JSON object"},
      {"{" + ok + "}", "'format'"},
      {R"({"format": 2, )" + ok + "}", "manifest format 2 is not supported"},
      {R"({"format": 1, "protocol_version": "1.0", "sdk_abi": "1.0"})", "missing field 'architecture'"},
      {R"({"format": 1, "architecture": "x86_64", "protocol_version": "1", "sdk_abi": "1.0"})", "'protocol_version'"},
      {R"({"format": 1, "architecture": "x86_64", "protocol_version": "1.x", "sdk_abi": "1.0"})", "'protocol_version'"},
      {R"({"format": 1, "architecture": "x86_64", "protocol_version": "70000.0", "sdk_abi": "1.0"})",
       "'protocol_version'"},
      {R"({"format": 1, "architecture": "x86_64", "protocol_version": "1.0", "sdk_abi": ".1"})", "'sdk_abi'"},
      {R"({"format": 1, )" + ok + R"(, "plugins": {}})", "'plugins' must be an array"},
      {R"({"format": 1, )" + ok + R"(, "plugins": [{"file": 3}]})", "'file' must be a string"},
      {R"({"format": 1, )" + ok + R"(, "libraries": [1]})", "'libraries' must hold strings"},
  };
  for (const auto& c : cases) {
    auto r = parseManifest(c.json, "env/ringserve-env.json");
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_THAT(r.error().message, HasSubstr("env/ringserve-env.json: ")) << c.json;
    EXPECT_THAT(r.error().message, HasSubstr(c.expected)) << c.json;
  }
}

TEST(EnvManifest, CompatibilityDecisions) {
  Manifest m = currentBuildManifest();
  EXPECT_TRUE(checkManifest(m, "environment E", true).ok());
  EXPECT_TRUE(checkManifest(m, "environment E", false).ok());

  Manifest arch = m;
  arch.architecture = "s390x";
  auto r = checkManifest(arch, "environment E", false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "environment E was built for architecture s390x; this server runs on " + hostArchitecture());

  Manifest older = m;
  older.protocol = {static_cast<std::uint16_t>(kProtocolMajor - 1), 9};
  r = checkManifest(older, "environment E", true);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("runs a worker speaking protocol " + ringserve::toString(older.protocol)));

  Manifest plugin = m;
  plugin.plugins.push_back({"lib/p.so", {kSdkAbiMajor, static_cast<std::uint16_t>(kSdkAbiMinor + 1)}, {}});
  r = checkManifest(plugin, "environment E", false);
  ASSERT_FALSE(r.ok()) << "a plugin needing a newer ABI minor than the server's worker";
  EXPECT_THAT(r.error().message, HasSubstr("plugin lib/p.so built for SDK ABI"));
  EXPECT_TRUE(checkManifest(plugin, "environment E", true).ok()) << "its own worker decides";
}

}  // namespace
}  // namespace ringserve::supervisor::environments
