// A plugin exports the ringserve_* entry points and nothing else.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace {

TEST(PluginVisibility, OnlyRingserveEntryPointsAreExported) {
  const std::string plugin = RINGSERVE_TEST_ECHO_PLUGIN;
  void* h = ::dlopen(plugin.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(h, nullptr) << ::dlerror();
  EXPECT_NE(::dlsym(h, "ringserve_model_create"), nullptr);
  EXPECT_NE(::dlsym(h, "ringserve_plugin_api_version"), nullptr);
  EXPECT_NE(::dlsym(h, "ringserve_model_supports_batching"), nullptr) << "the optional 1.1 entry point";
  // An SDK function compiled into the plugin (ringserve::toString(DataType)) stays hidden.
  EXPECT_EQ(::dlsym(h, "_ZN9ringserve8toStringENS_8DataTypeE"), nullptr);
  ::dlclose(h);

  std::FILE* p = ::popen(("nm -D --defined-only " + plugin).c_str(), "r");
  ASSERT_NE(p, nullptr);
  char line[1024];
  int exported = 0;
  while (std::fgets(line, sizeof line, p) != nullptr) {
    std::string s(line);
    const auto name = s.substr(s.rfind(' ') + 1);
    EXPECT_EQ(name.rfind("ringserve_", 0), 0u) << "exported: " << name;
    ++exported;
  }
  EXPECT_EQ(::pclose(p), 0);
  EXPECT_EQ(exported, 9);
}

}  // namespace
