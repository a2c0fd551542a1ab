/* The private interface between libringserve_python.so (the plugin the worker opens; no Python
 * symbols) and libringserve_python_core.so (the CPython host; its Py* symbols resolve against the
 * libpython the plugin dlopened with RTLD_GLOBAL). Both are built from this folder together, so
 * this is not a compatibility boundary: no versioning. */
#ifndef RINGSERVE_PYTHON_CORE_API_H
#define RINGSERVE_PYTHON_CORE_API_H

#include "ringserve/abi.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ringserve_python_core {
  ringserve_create_fn create;
  ringserve_model_fn load;
  ringserve_model_fn metadata;
  ringserve_predict_fn predict;
  ringserve_model_fn unload;
  ringserve_destroy_fn destroy;
  ringserve_supports_batching_fn supports_batching;
} ringserve_python_core;

/* Initialises the interpreter once per process (later calls return the same table; the arguments
 * are then ignored). `python_path`: ':'-separated folders appended to sys.path (the environment's
 * Python path, then the built-in Python packages). `program`: the interpreter executable the
 * embedded one should take its prefix (standard library, site-packages) from, or "" to leave that
 * to PYTHONHOME / CPython's own search. On failure returns NULL and writes a one-line reason into
 * `error`. */
typedef const ringserve_python_core* (*ringserve_python_core_init_fn)(const char* python_path, const char* program,
                                                                      char* error, unsigned long error_size);
#define RINGSERVE_PYTHON_CORE_INIT "ringserve_python_core_init"

#ifdef __cplusplus
}
#endif

#endif
