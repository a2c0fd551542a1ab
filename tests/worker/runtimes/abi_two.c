/* A plugin built for a future SDK ABI major: the worker must refuse it, naming both versions. */
#include <stdint.h>

__attribute__((visibility("default"))) void ringserve_plugin_api_version(uint32_t* major, uint32_t* minor) {
  *major = 2;
  *minor = 0;
}
