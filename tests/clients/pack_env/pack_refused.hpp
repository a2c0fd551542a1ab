#pragma once
// Test helper: what every refused `pack-env` must hold, for the plugin and the Python packs alike:
// a one-line message naming the problem, no tarball, and no `.partial-` leftover.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "clients/pack_env/pack_env.hpp"

namespace ringserve::supervisor::environments::envtest {

inline void expectPackRefused(const PackOptions& o, const std::string& text) {
  auto r = packEnvironment(o);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, ::testing::HasSubstr(text));
  EXPECT_EQ(r.error().message.find('\n'), std::string::npos) << "one line";
  EXPECT_FALSE(std::filesystem::exists(o.output)) << "a failed pack leaves no tarball";
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(o.output.parent_path(), ec)) {
    EXPECT_THAT(e.path().filename().string(), ::testing::Not(::testing::HasSubstr(".partial-")));
  }
}

}  // namespace ringserve::supervisor::environments::envtest
