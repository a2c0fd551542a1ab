#pragma once
// What the CPython host's files share (core.cpp: the interpreter and the ABI entry points;
// module.cpp: the `_ringserve` module Python calls back into; py_text.cpp: exceptions, text and shapes).
// Internal to libringserve_python_core.so, whose only export is ringserve_python_core_init.
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core_api.h"

// PyMemoryView_FromMemory is in the stable ABI since 3.3, but the flags it takes are declared
// with the buffer protocol, which the limited API hides before 3.11. Their values are fixed.
#ifndef PyBUF_READ
#define PyBUF_READ 0x100
#define PyBUF_WRITE 0x200
#endif

namespace pyhost {

constexpr const char* kDatatypes[] = {"BOOL",  "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16",
                                      "INT32", "INT64", "FP16",   "BF16",   "FP32",   "FP64", "BYTES"};
constexpr unsigned kDatatypeCount = sizeof(kDatatypes) / sizeof(kDatatypes[0]);

inline std::string_view view(ringserve_string s) { return {s.data == nullptr ? "" : s.data, s.size}; }
inline ringserve_string str(std::string_view s) { return {s.data(), s.size()}; }

// Owned by the model token capsule (so a token Python keeps past destroy stays safe); `model`
// is cleared by destroy, after which log/metric calls are dropped.
struct ModelToken {
  const ringserve_host* host = nullptr;
  ringserve_host_model* model = nullptr;
};
// Owned by the call token capsule; `call` is set only while a predict runs.
struct CallToken {
  const ringserve_host* host = nullptr;
  ringserve_call* call = nullptr;
  PyObject* views = nullptr;  // list of the output memoryviews handed out during this predict
};

constexpr const char* kModelCapsule = "ringserve.model";
constexpr const char* kCallCapsule = "ringserve.call";

// The `_ringserve` module's definition (module.cpp), created once by initialise (core.cpp).
PyModuleDef* ringserveModule();

// The pending exception as one line ("ValueError: bad"), with the full traceback in `traceback`.
// Clears it. Never PyErr_Print: that would act on a SystemExit.
std::string takeException(std::string* traceback = nullptr);
// str(o) as UTF-8; false (error cleared) when it is not text.
bool utf8(PyObject* o, std::string& out);
// A sequence of ints appended to `shape`; false with the Python error set when it is not one.
bool shapeOf(PyObject* seq, std::vector<int64_t>& shape);

}  // namespace pyhost
