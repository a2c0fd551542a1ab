/* A plugin built for SDK ABI 1.0, written against the C ABI alone: it exports the required entry
 * points and not ringserve_model_supports_batching (added in 1.1), so the worker must take it to
 * support batching. Its one class, Plain, answers every request with no outputs. */
#include <stddef.h>

#include "ringserve/abi.h"

static int instance;

RINGSERVE_EXPORT void ringserve_plugin_api_version(uint32_t* major, uint32_t* minor) {
  *major = 1;
  *minor = 0;
}

RINGSERVE_EXPORT const char* const* ringserve_plugin_classes(uint32_t* count) {
  static const char* const names[] = {"Plain"};
  *count = 1;
  return names;
}

RINGSERVE_EXPORT int32_t ringserve_model_create(const ringserve_host* host, ringserve_call* call,
                                                const ringserve_model_info* info, void** model) {
  (void)host;
  (void)call;
  (void)info;
  *model = &instance;
  return RINGSERVE_OK;
}

RINGSERVE_EXPORT int32_t ringserve_model_load(void* model, ringserve_call* call) {
  (void)model;
  (void)call;
  return RINGSERVE_OK;
}

RINGSERVE_EXPORT int32_t ringserve_model_predict(void* model, ringserve_call* call, const ringserve_request* request) {
  (void)model;
  (void)call;
  (void)request;
  return RINGSERVE_OK;
}

RINGSERVE_EXPORT int32_t ringserve_model_unload(void* model, ringserve_call* call) {
  (void)model;
  (void)call;
  return RINGSERVE_OK;
}

RINGSERVE_EXPORT void ringserve_model_destroy(void* model) { (void)model; }
