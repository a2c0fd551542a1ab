// Python exceptions, str and shape sequences as C++ values (core_shared.hpp).
#include "core_shared.hpp"

namespace pyhost {

std::string takeException(std::string* traceback) {
  PyObject *type = nullptr, *value = nullptr, *tb = nullptr;
  PyErr_Fetch(&type, &value, &tb);
  if (type == nullptr) return "unknown error";
  PyErr_NormalizeException(&type, &value, &tb);
  std::string line = "error";
  auto text = [](PyObject* o) {
    std::string out;
    if (PyObject* s = o ? PyObject_Str(o) : nullptr) {
      if (PyObject* b = PyUnicode_AsUTF8String(s)) {
        char* p = nullptr;
        Py_ssize_t n = 0;
        if (PyBytes_AsStringAndSize(b, &p, &n) == 0) out.assign(p, static_cast<size_t>(n));
        Py_DECREF(b);
      }
      Py_DECREF(s);
    }
    PyErr_Clear();
    return out;
  };
  if (PyObject* name = PyObject_GetAttrString(type, "__name__")) {
    line = text(name);
    Py_DECREF(name);
  }
  PyErr_Clear();
  if (const std::string v = text(value); !v.empty()) line += ": " + v;
  if (traceback != nullptr) {
    if (PyObject* mod = PyImport_ImportModule("traceback")) {
      if (PyObject* lines =
              PyObject_CallMethod(mod, "format_exception", "OOO", type, value ? value : Py_None, tb ? tb : Py_None)) {
        PyObject* empty = PyUnicode_FromString("");
        if (PyObject* joined = empty ? PyUnicode_Join(empty, lines) : nullptr) {
          *traceback = text(joined);
          Py_DECREF(joined);
        }
        Py_XDECREF(empty);
        Py_DECREF(lines);
      }
      Py_DECREF(mod);
    }
    PyErr_Clear();
  }
  Py_XDECREF(type);
  Py_XDECREF(value);
  Py_XDECREF(tb);
  return line;
}

bool utf8(PyObject* o, std::string& out) {
  PyObject* b = PyUnicode_Check(o) ? PyUnicode_AsUTF8String(o) : nullptr;
  char* p = nullptr;
  Py_ssize_t n = 0;
  const bool ok = b != nullptr && PyBytes_AsStringAndSize(b, &p, &n) == 0;
  if (ok) out.assign(p, static_cast<size_t>(n));
  Py_XDECREF(b);
  PyErr_Clear();
  return ok;
}

bool shapeOf(PyObject* seq, std::vector<int64_t>& shape) {
  const Py_ssize_t n = PySequence_Size(seq);
  if (n < 0) return false;
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject* item = PySequence_GetItem(seq, i);
    const long long d = item ? PyLong_AsLongLong(item) : -1;
    Py_XDECREF(item);
    if (PyErr_Occurred()) return false;
    shape.push_back(d);
  }
  return true;
}

}  // namespace pyhost
