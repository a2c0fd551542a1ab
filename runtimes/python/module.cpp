// The `_ringserve` module: what Python code (ringserve_host, PROTOCOL.md) calls back into while
// the worker runs it: logs and metrics with a model token, outputs and response parameters with
// the call token of the predict in progress. Every function runs with the GIL held (Python
// called it).
#include <cstdint>
#include <string_view>
#include <vector>

#include "core_shared.hpp"

namespace pyhost {

namespace {

template <class T>
T* token(PyObject* capsule, const char* kind) {
  auto* t = static_cast<T*>(PyCapsule_GetPointer(capsule, kind));
  if (t == nullptr && !PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "not a ringserve token");
  return t;
}

PyObject* pyLog(PyObject*, PyObject* args) {
  PyObject* cap = nullptr;
  int level = 1;
  const char* msg = nullptr;
  Py_ssize_t len = 0;
  if (!PyArg_ParseTuple(args, "Ois#", &cap, &level, &msg, &len)) return nullptr;
  auto* t = token<ModelToken>(cap, kModelCapsule);
  if (t == nullptr) return nullptr;
  if (t->model != nullptr) t->host->log(t->model, level, {msg, static_cast<uint64_t>(len)});
  Py_RETURN_NONE;
}

PyObject* pyMetric(PyObject*, PyObject* args) {
  PyObject *cap = nullptr, *buckets = nullptr;
  unsigned int kind = 0;
  const char *name = nullptr, *help = nullptr;
  Py_ssize_t nameLen = 0, helpLen = 0;
  double value = 0;
  if (!PyArg_ParseTuple(args, "OIs#s#dO", &cap, &kind, &name, &nameLen, &help, &helpLen, &value, &buckets))
    return nullptr;
  auto* t = token<ModelToken>(cap, kModelCapsule);
  if (t == nullptr) return nullptr;
  if (kind > RINGSERVE_METRIC_HISTOGRAM) {
    PyErr_SetString(PyExc_ValueError, "metric kind must be 0 (counter), 1 (gauge) or 2 (histogram)");
    return nullptr;
  }
  std::vector<double> bounds;
  if (buckets != Py_None) {
    const Py_ssize_t n = PySequence_Size(buckets);
    if (n < 0) return nullptr;
    for (Py_ssize_t i = 0; i < n; ++i) {
      PyObject* item = PySequence_GetItem(buckets, i);
      const double b = item ? PyFloat_AsDouble(item) : -1;
      Py_XDECREF(item);
      if (PyErr_Occurred()) return nullptr;
      bounds.push_back(b);
    }
  }
  const ringserve_metric m{kind,  {name, static_cast<uint64_t>(nameLen)},   {help, static_cast<uint64_t>(helpLen)},
                           value, bounds.empty() ? nullptr : bounds.data(), static_cast<uint32_t>(bounds.size())};
  if (t->model != nullptr) t->host->metric(t->model, &m);
  Py_RETURN_NONE;
}

PyObject* pyAllocateOutput(PyObject*, PyObject* args) {
  PyObject *cap = nullptr, *shapeSeq = nullptr;
  const char *name = nullptr, *dtype = nullptr, *params = nullptr;
  Py_ssize_t nameLen = 0, dtypeLen = 0, paramsLen = 0;
  unsigned long long nbytes = 0;
  if (!PyArg_ParseTuple(args, "Os#s#OKs#", &cap, &name, &nameLen, &dtype, &dtypeLen, &shapeSeq, &nbytes, &params,
                        &paramsLen))
    return nullptr;
  auto* t = token<CallToken>(cap, kCallCapsule);
  if (t == nullptr) return nullptr;
  if (t->call == nullptr) {
    PyErr_SetString(PyExc_RuntimeError, "allocate_output called outside predict");
    return nullptr;
  }
  const std::string_view dt(dtype, static_cast<size_t>(dtypeLen));
  uint32_t datatype = kDatatypeCount;
  for (uint32_t i = 0; i < kDatatypeCount; ++i)
    if (dt == kDatatypes[i]) datatype = i;
  if (datatype == kDatatypeCount) {
    PyErr_Format(PyExc_ValueError, "output datatype '%s' is not a V2 datatype", dtype);
    return nullptr;
  }
  std::vector<int64_t> shape;
  if (!shapeOf(shapeSeq, shape)) return nullptr;
  const ringserve_output_spec spec{
      {name, static_cast<uint64_t>(nameLen)},    datatype, static_cast<uint32_t>(shape.size()), shape.data(), nbytes,
      {params, static_cast<uint64_t>(paramsLen)}};
  void* data = nullptr;
  const int32_t rc = t->host->allocate_output(t->call, &spec, &data);
  if (rc != RINGSERVE_OK) {
    if (rc == RINGSERVE_RESOURCE_EXHAUSTED)
      PyErr_Format(PyExc_MemoryError, "output '%s' (%llu bytes) does not fit in the response arena (raise shm_size)",
                   name, nbytes);
    else
      PyErr_Format(PyExc_ValueError, "output '%s' was refused (bad spec or a duplicate name)", name);
    return nullptr;
  }
  static char empty[1];
  PyObject* mv = PyMemoryView_FromMemory(data != nullptr ? static_cast<char*>(data) : empty,
                                         static_cast<Py_ssize_t>(nbytes), PyBUF_WRITE);
  if (mv != nullptr && PyList_Append(t->views, mv) != 0) Py_CLEAR(mv);
  return mv;
}

PyObject* pySetResponseParameters(PyObject*, PyObject* args) {
  PyObject* cap = nullptr;
  const char* json = nullptr;
  Py_ssize_t len = 0;
  if (!PyArg_ParseTuple(args, "Os#", &cap, &json, &len)) return nullptr;
  auto* t = token<CallToken>(cap, kCallCapsule);
  if (t == nullptr) return nullptr;
  if (t->call == nullptr) {
    PyErr_SetString(PyExc_RuntimeError, "set_response_parameters called outside predict");
    return nullptr;
  }
  t->host->set_response_parameters(t->call, {json, static_cast<uint64_t>(len)});
  Py_RETURN_NONE;
}

PyMethodDef kMethods[] = {
    {"log", pyLog, METH_VARARGS, "log(model_token, level, message): to the worker log with the model's name"},
    {"metric", pyMetric, METH_VARARGS, "metric(model_token, kind, name, help, value, buckets)"},
    {"allocate_output", pyAllocateOutput, METH_VARARGS,
     "allocate_output(call_token, name, datatype, shape, nbytes, parameters_json) -> writable memoryview"},
    {"set_response_parameters", pySetResponseParameters, METH_VARARGS,
     "set_response_parameters(call_token, parameters_json)"},
    {nullptr, nullptr, 0, nullptr}};

}  // namespace

PyModuleDef* ringserveModule() {
  static PyModuleDef kModule = {PyModuleDef_HEAD_INIT,
                                "_ringserve",
                                "ringserve's worker, as the Python host sees it.",
                                -1,
                                kMethods,
                                nullptr,
                                nullptr,
                                nullptr,
                                nullptr};
  return &kModule;
}

}  // namespace pyhost
