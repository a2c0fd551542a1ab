/* The plugin C ABI: everything the worker and a runtime plugin say to each other.
 *
 * A plugin is a shared library exporting the `ringserve_*` entry points below (the SDK's
 * RINGSERVE_REGISTER_RUNTIME macro generates them; nothing else should be exported). The worker
 * gives the plugin a host function table, so the plugin never needs a symbol from the worker and
 * depends on nothing of ringserve at run time.
 *
 * Versioning (the numbers live in schema/version.hpp as kSdkAbiMajor/kSdkAbiMinor; a test ties
 * them to the macros here): a worker uses a plugin built for the same major and a minor not newer
 * than its own. Minor: an optional entry point was added or a slot appended to ringserve_host
 * (plugins check `struct_size` before using a newer slot). Major: anything else.
 *
 * Lifetimes: every ringserve_string, tensor and array the host passes is valid only during the
 * call it was passed to. Input tensor data points straight into the shared-memory request arena
 * (read-only). Output memory from allocate_output points into the response arena and stays the
 * plugin's to write until the predict call returns.
 *
 * Threads: the worker calls predict on one model from one thread at a time; create/load/unload of
 * one model may run on another thread than its predicts, never concurrently with them. log and
 * metric may be called from any thread at any time between create and destroy.
 *
 * Batching (1.1): a model's settings enable adaptive batching when max_batch_size > 1 and
 * max_batch_time > 0 (MLServer's rule). The server then merges requests into one predict: each
 * input is an ordinary tensor whose first dimension is the sum of the merged requests' rows, and
 * every output must keep that first dimension (row i of an output belongs to row i of the
 * inputs). A runtime that cannot take such tensors answers 0 from ringserve_model_supports_batching;
 * the worker then fails the load of a model whose settings enable batching, naming the settings
 * to remove. A plugin without the entry point (1.0) is taken to support batching.
 */
#ifndef RINGSERVE_ABI_H
#define RINGSERVE_ABI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RINGSERVE_ABI_MAJOR 1
#define RINGSERVE_ABI_MINOR 1

#define RINGSERVE_EXPORT __attribute__((visibility("default")))

/* Status codes returned by entry points and host functions. */
enum {
  RINGSERVE_OK = 0,
  RINGSERVE_INTERNAL = 1,           /* runtime failure: HTTP 500 */
  RINGSERVE_BAD_INPUT = 2,          /* the request is wrong: HTTP 400 */
  RINGSERVE_NOT_FOUND = 3,          /* 404 / 400 by context */
  RINGSERVE_UNAVAILABLE = 4,        /* 503 */
  RINGSERVE_RESOURCE_EXHAUSTED = 5  /* response arena full: 503 naming shm_size */
};

/* Tensor datatypes; the values equal schema::DataType's enumerants. */
enum {
  RINGSERVE_BOOL = 0, RINGSERVE_UINT8 = 1, RINGSERVE_UINT16 = 2, RINGSERVE_UINT32 = 3,
  RINGSERVE_UINT64 = 4, RINGSERVE_INT8 = 5, RINGSERVE_INT16 = 6, RINGSERVE_INT32 = 7,
  RINGSERVE_INT64 = 8, RINGSERVE_FP16 = 9, RINGSERVE_BF16 = 10, RINGSERVE_FP32 = 11,
  RINGSERVE_FP64 = 12, RINGSERVE_BYTES = 13
};

enum { RINGSERVE_LOG_DEBUG = 0, RINGSERVE_LOG_INFO = 1, RINGSERVE_LOG_WARN = 2, RINGSERVE_LOG_ERROR = 3 };
enum { RINGSERVE_METRIC_COUNTER = 0, RINGSERVE_METRIC_GAUGE = 1, RINGSERVE_METRIC_HISTOGRAM = 2 };

/* UTF-8 text, not NUL-terminated. */
typedef struct ringserve_string {
  const char* data;
  uint64_t size;
} ringserve_string;

typedef struct ringserve_call ringserve_call;             /* host-owned: one create/load/predict/unload call */
typedef struct ringserve_host_model ringserve_host_model; /* host-owned: the model, for logs and metrics */

typedef struct ringserve_tensor {
  ringserve_string name;
  uint32_t datatype;
  uint32_t rank;
  const int64_t* shape;
  const void* data;               /* little-endian, row-major; BYTES: u32 LE length + bytes per element */
  uint64_t size;                  /* bytes */
  ringserve_string parameters_json; /* the tensor's `parameters` object, or empty */
} ringserve_tensor;

typedef struct ringserve_requested_output {
  ringserve_string name;
  ringserve_string parameters_json;
} ringserve_requested_output;

typedef struct ringserve_request {
  ringserve_string id;
  ringserve_string parameters_json; /* request `parameters`, `headers` member included */
  const ringserve_tensor* inputs;
  uint32_t input_count;
  uint32_t requested_output_count;  /* 0: every output */
  const ringserve_requested_output* requested_outputs;
} ringserve_request;

typedef struct ringserve_output_spec {
  ringserve_string name;
  uint32_t datatype;
  uint32_t rank;
  const int64_t* shape;
  uint64_t size;                    /* bytes; for fixed-size types it must equal elements x element size */
  ringserve_string parameters_json; /* the output's `parameters` (e.g. content_type), or empty */
} ringserve_output_spec;

typedef struct ringserve_model_info {
  ringserve_string class_name;    /* the class part of `implementation` */
  ringserve_string implementation;
  ringserve_string name;
  ringserve_string version;
  ringserve_string settings_json; /* effective model-settings.json, parameters.uri absolute */
  ringserve_string model_dir;
  ringserve_host_model* host_model;
} ringserve_model_info;

typedef struct ringserve_metric {
  uint32_t kind;                  /* RINGSERVE_METRIC_* */
  ringserve_string name;
  ringserve_string help;
  double value;                   /* counter: increment; gauge: new value; histogram: observation */
  const double* bucket_bounds;    /* histograms: upper bounds, ascending (used on first sight of the name) */
  uint32_t bucket_count;
} ringserve_metric;

typedef struct ringserve_host {
  uint32_t struct_size;           /* sizeof(ringserve_host) of the host: slots past it do not exist */
  uint32_t abi_major;
  uint32_t abi_minor;
  /* Records the call's error (the entry point then returns `code`). */
  void (*set_error)(ringserve_call* call, int32_t code, ringserve_string message);
  /* Predict only: allocates one output in the response arena. RINGSERVE_OK and *data set, or an
     error code with the call's error set (bad spec, arena full, duplicate name). */
  int32_t (*allocate_output)(ringserve_call* call, const ringserve_output_spec* spec, void** data);
  /* Predict only: the response `parameters` object (JSON); `headers` in it become HTTP headers. */
  void (*set_response_parameters)(ringserve_call* call, ringserve_string json);
  /* Metadata only: one input (is_output = 0) or output the model serves. */
  void (*add_tensor_metadata)(ringserve_call* call, int32_t is_output, ringserve_string name,
                              ringserve_string datatype, const int64_t* shape, uint32_t rank,
                              ringserve_string content_type);
  void (*log)(ringserve_host_model* model, int32_t level, ringserve_string message);
  void (*metric)(ringserve_host_model* model, const ringserve_metric* metric);
} ringserve_host;

/* --- entry points a plugin exports --- */

/* Required. The ABI the plugin was built for. */
RINGSERVE_EXPORT void ringserve_plugin_api_version(uint32_t* major, uint32_t* minor);
/* Required. The class names the plugin registers; the array lives as long as the library. */
RINGSERVE_EXPORT const char* const* ringserve_plugin_classes(uint32_t* count);
/* Required. Constructs an instance of info->class_name into *model. */
RINGSERVE_EXPORT int32_t ringserve_model_create(const ringserve_host* host, ringserve_call* call,
                                                const ringserve_model_info* info, void** model);
/* Required. */
RINGSERVE_EXPORT int32_t ringserve_model_load(void* model, ringserve_call* call);
RINGSERVE_EXPORT int32_t ringserve_model_predict(void* model, ringserve_call* call, const ringserve_request* request);
RINGSERVE_EXPORT int32_t ringserve_model_unload(void* model, ringserve_call* call);
RINGSERVE_EXPORT void ringserve_model_destroy(void* model);
/* Optional (1.0). Reports the model's inputs and outputs through add_tensor_metadata after load. */
RINGSERVE_EXPORT int32_t ringserve_model_metadata(void* model, ringserve_call* call);
/* Optional (1.1). 1 if the instance accepts batched requests (see "Batching" above), 0 if not.
   Called once, after create and before load; absent means 1. Must not fail or block. */
RINGSERVE_EXPORT int32_t ringserve_model_supports_batching(void* model);

/* Entry point names, for hosts resolving them with dlsym. */
#define RINGSERVE_SYM_API_VERSION "ringserve_plugin_api_version"
#define RINGSERVE_SYM_CLASSES "ringserve_plugin_classes"
#define RINGSERVE_SYM_CREATE "ringserve_model_create"
#define RINGSERVE_SYM_LOAD "ringserve_model_load"
#define RINGSERVE_SYM_PREDICT "ringserve_model_predict"
#define RINGSERVE_SYM_UNLOAD "ringserve_model_unload"
#define RINGSERVE_SYM_DESTROY "ringserve_model_destroy"
#define RINGSERVE_SYM_METADATA "ringserve_model_metadata"
#define RINGSERVE_SYM_SUPPORTS_BATCHING "ringserve_model_supports_batching"

typedef void (*ringserve_api_version_fn)(uint32_t*, uint32_t*);
typedef const char* const* (*ringserve_classes_fn)(uint32_t*);
typedef int32_t (*ringserve_create_fn)(const ringserve_host*, ringserve_call*, const ringserve_model_info*, void**);
typedef int32_t (*ringserve_model_fn)(void*, ringserve_call*);
typedef int32_t (*ringserve_predict_fn)(void*, ringserve_call*, const ringserve_request*);
typedef void (*ringserve_destroy_fn)(void*);
typedef int32_t (*ringserve_supports_batching_fn)(void*);

#ifdef __cplusplus
}
#endif

#endif /* RINGSERVE_ABI_H */
