// libringserve_python_core.so: the CPython host. Compiled against the stable ABI only, linked
// against no libpython: its Py* symbols resolve against the libpython that plugin.cpp dlopened
// with RTLD_GLOBAL. Everything model-specific happens in the Python package `ringserve_host`
// (PROTOCOL.md); this file owns the interpreter, the GIL and the ABI entry points; module.cpp is
// the `_ringserve` module Python calls back into, py_text.cpp exceptions and text.
//
// Threads and the GIL: the interpreter is initialised by the first create (on a worker control
// thread), which then releases the GIL; every entry point takes it with PyGILState_Ensure for
// the duration of the call and nothing else, so an idle worker holds no GIL.
#include <dlfcn.h>
#include <sys/stat.h>

#include <cstring>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core_shared.hpp"

namespace pyhost {
namespace {

// Each worker thread that calls in keeps one Python thread state for its whole life (made on its
// first call, dropped when the thread ends), so a call only takes and releases the GIL: without
// this, PyGILState would create and destroy a thread state on every predict.
struct ThreadAttachment {
  PyGILState_STATE state = PyGILState_Ensure();
  PyThreadState* saved = PyEval_SaveThread();
  ThreadAttachment() = default;
  ~ThreadAttachment() {
    PyEval_RestoreThread(saved);
    PyGILState_Release(state);
  }
  ThreadAttachment(const ThreadAttachment&) = delete;
  ThreadAttachment& operator=(const ThreadAttachment&) = delete;
};

struct Gil {
  PyGILState_STATE state = attach();
  Gil() = default;
  static PyGILState_STATE attach() {
    static thread_local ThreadAttachment thread;
    return PyGILState_Ensure();
  }
  ~Gil() { PyGILState_Release(state); }
  Gil(const Gil&) = delete;
  Gil& operator=(const Gil&) = delete;
};

struct Interpreter {
  PyObject* create = nullptr;
  PyObject* load = nullptr;
  PyObject* metadata = nullptr;
  PyObject* predict = nullptr;
  PyObject* unload = nullptr;
  PyObject* supportsBatching = nullptr;  // optional: a Python half without it supports batching
  // Made once at start (under the GIL) and kept for the process: every predict would otherwise
  // build these strings again (a datatype name per input, "release" per view).
  PyObject* datatypeNames[kDatatypeCount] = {};
  PyObject* releaseName = nullptr;
  std::vector<std::string> pythonPath;
};
Interpreter* interp = nullptr;

struct Model {
  const ringserve_host* host = nullptr;
  ringserve_host_model* hostModel = nullptr;
  PyObject* modelToken = nullptr;
  PyObject* callToken = nullptr;
  PyObject* handle = nullptr;  // whatever ringserve_host.create returned
  std::string implementation;
};

// --- calls into ringserve_host ----------------------------------------------------------------

int32_t fail(const ringserve_host* host, ringserve_call* call, int32_t code, const std::string& message) {
  host->set_error(call, code, str(message));
  return code;
}

// Calls fn(*args) (steals `args`) and checks the `(status, value)` answer. On success returns OK
// with a new reference in *value; otherwise records the call's error. An exception escaping
// ringserve_host (it should catch everything) is a 500 with its traceback in the log.
int32_t callHost(Model& m, PyObject* fn, PyObject* args, ringserve_call* call, PyObject** value) {
  *value = nullptr;
  PyObject* result = args != nullptr ? PyObject_CallObject(fn, args) : nullptr;
  Py_XDECREF(args);
  if (result == nullptr) {
    std::string tb;
    const std::string line = takeException(&tb);
    m.host->log(m.hostModel, RINGSERVE_LOG_ERROR, str("ringserve_host raised " + tb));
    return fail(m.host, call, RINGSERVE_INTERNAL, line);
  }
  long status = -1;
  PyObject* second = nullptr;
  if (PyTuple_Check(result) && PyTuple_Size(result) == 2) {
    status = PyLong_AsLong(PyTuple_GetItem(result, 0));
    second = PyTuple_GetItem(result, 1);
  }
  PyErr_Clear();
  if (status == RINGSERVE_OK) {
    Py_INCREF(second);
    *value = second;
    Py_DECREF(result);
    return RINGSERVE_OK;
  }
  std::string message;
  if (second == nullptr || !utf8(second, message)) message = "ringserve_host answered without a (status, value) pair";
  Py_DECREF(result);
  const int32_t code = status > RINGSERVE_OK && status <= RINGSERVE_RESOURCE_EXHAUSTED ? static_cast<int32_t>(status)
                                                                                       : RINGSERVE_INTERNAL;
  return fail(m.host, call, code, message);
}

PyObject* text(ringserve_string s) {
  return PyUnicode_DecodeUTF8(s.data == nullptr ? "" : s.data, static_cast<Py_ssize_t>(s.size), "replace");
}

PyObject* shapeTuple(const int64_t* shape, uint32_t rank) {
  PyObject* t = PyTuple_New(rank);
  for (uint32_t i = 0; t != nullptr && i < rank; ++i) PyTuple_SetItem(t, i, PyLong_FromLongLong(shape[i]));
  return t;
}

// The folder holding <module>.py or <module>/__init__.py ('.' in a dotted module = '/'): the model
// folder first, then the interpreter's extra path (environment, built-in packages). The worker
// searched the same places in the same order before choosing this plugin (worker/resolve.cpp).
bool findModuleDir(std::string_view implementation, const std::string& modelDir, std::string& found,
                   std::string& tried) {
  const auto dot = implementation.rfind('.');
  std::string rel(implementation.substr(0, dot == std::string_view::npos ? 0 : dot));
  for (char& c : rel)
    if (c == '.') c = '/';
  std::vector<std::string> dirs{modelDir};
  dirs.insert(dirs.end(), interp->pythonPath.begin(), interp->pythonPath.end());
  for (const auto& d : dirs) {
    if (d.empty()) continue;
    for (const std::string& f : {d + "/" + rel + ".py", d + "/" + rel + "/__init__.py"}) {
      struct stat st {};
      if (::stat(f.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
        found = d;
        return true;
      }
      tried += "\n  " + f;
    }
  }
  return false;
}

// The C++ payload of a capsule handed to Python: freed by the capsule's destructor when Python
// drops its last reference, which for a token Python keeps (ringserve_host's last-created-model
// token for logs outside calls, a model object a module still references) is never, since the
// interpreter is never finalised. Allocated only here so tests/sanitizers/lsan.supp can name
// exactly these (noinline keeps the name in the allocation's stack).
template <typename T, typename... Args>
__attribute__((noinline)) T* capsulePayload(Args&&... args) {
  return new T{std::forward<Args>(args)...};
}

// --- entry points -----------------------------------------------------------------------------

int32_t create(const ringserve_host* host, ringserve_call* call, const ringserve_model_info* info, void** out) {
  Gil gil;
  auto* m = new Model();
  m->host = host;
  m->hostModel = info->host_model;
  m->implementation.assign(view(info->implementation));
  std::string moduleDir, tried;
  const std::string modelDir(view(info->model_dir));
  if (!findModuleDir(m->implementation, modelDir, moduleDir, tried)) {
    delete m;
    return fail(host, call, RINGSERVE_NOT_FOUND,
                "Python module of '" + std::string(view(info->implementation)) + "' not found; looked for:" + tried);
  }
  auto* mt = capsulePayload<ModelToken>(host, info->host_model);
  m->modelToken = PyCapsule_New(
      mt, kModelCapsule, [](PyObject* c) { delete static_cast<ModelToken*>(PyCapsule_GetPointer(c, kModelCapsule)); });
  auto* ct = capsulePayload<CallToken>(host, nullptr, PyList_New(0));
  m->callToken = PyCapsule_New(ct, kCallCapsule, [](PyObject* c) {
    auto* t = static_cast<CallToken*>(PyCapsule_GetPointer(c, kCallCapsule));
    Py_XDECREF(t->views);
    delete t;
  });
  *out = m;  // destroy() cleans up from here on, whatever create answers
  PyObject* args = Py_BuildValue(
      "(Os#s#s#s#)", m->modelToken, info->implementation.data, static_cast<Py_ssize_t>(info->implementation.size),
      info->settings_json.data, static_cast<Py_ssize_t>(info->settings_json.size), modelDir.data(),
      static_cast<Py_ssize_t>(modelDir.size()), moduleDir.data(), static_cast<Py_ssize_t>(moduleDir.size()));
  return callHost(*m, interp->create, args, call, &m->handle);
}

int32_t load(void* model, ringserve_call* call) {
  auto& m = *static_cast<Model*>(model);
  Gil gil;
  PyObject* ready = nullptr;
  const int32_t rc = callHost(m, interp->load, Py_BuildValue("(O)", m.handle), call, &ready);
  if (rc != RINGSERVE_OK) return rc;
  const int truthy = PyObject_IsTrue(ready);
  Py_DECREF(ready);
  PyErr_Clear();
  // MLServer: `ready = await load()`; a falsy answer leaves the model not ready (infer: 400
  // "Model <name> is not ready yet."), which for the supervisor is a failed load.
  if (truthy != 1)
    return fail(m.host, call, RINGSERVE_UNAVAILABLE, "load() returned a falsy value; the model is not ready");
  return RINGSERVE_OK;
}

int32_t metadata(void* model, ringserve_call* call) {
  auto& m = *static_cast<Model*>(model);
  Gil gil;
  PyObject* list = nullptr;
  const int32_t rc = callHost(m, interp->metadata, Py_BuildValue("(O)", m.handle), call, &list);
  if (rc != RINGSERVE_OK) return rc;
  const Py_ssize_t n = PySequence_Size(list);
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject* item = PySequence_GetItem(list, i);
    PyObject *isOut = nullptr, *name = nullptr, *dtype = nullptr, *shapeSeq = nullptr, *ct = nullptr;
    std::vector<int64_t> shape;
    std::string sName, sDtype, sCt;
    const bool ok = item != nullptr && PyArg_ParseTuple(item, "OOOOO", &isOut, &name, &dtype, &shapeSeq, &ct) &&
                    utf8(name, sName) && utf8(dtype, sDtype) && (ct == Py_None || utf8(ct, sCt)) &&
                    shapeOf(shapeSeq, shape);
    if (ok)
      m.host->add_tensor_metadata(call, PyObject_IsTrue(isOut) == 1, str(sName), str(sDtype), shape.data(),
                                  static_cast<uint32_t>(shape.size()), str(sCt));
    Py_XDECREF(item);
    PyErr_Clear();
  }
  Py_DECREF(list);
  return RINGSERVE_OK;
}

// Read-only views onto the request arena: zero copies (numpy.frombuffer wraps them).
PyObject* inputList(const ringserve_request* r, PyObject* views) {
  static char empty[1];
  PyObject* list = PyList_New(r->input_count);
  for (uint32_t i = 0; list != nullptr && i < r->input_count; ++i) {
    const ringserve_tensor& t = r->inputs[i];
    char* data = t.data != nullptr ? static_cast<char*>(const_cast<void*>(t.data)) : empty;
    PyObject* mv = PyMemoryView_FromMemory(data, static_cast<Py_ssize_t>(t.size), PyBUF_READ);
    if (mv != nullptr) PyList_Append(views, mv);
    PyObject* datatype = t.datatype < kDatatypeCount ? interp->datatypeNames[t.datatype] : nullptr;
    PyList_SetItem(
        list, i,
        datatype != nullptr
            ? Py_BuildValue("(NONNN)", text(t.name), datatype, shapeTuple(t.shape, t.rank), mv, text(t.parameters_json))
            : Py_BuildValue("(NsNNN)", text(t.name), "?", shapeTuple(t.shape, t.rank), mv, text(t.parameters_json)));
  }
  return list;
}

PyObject* requestedList(const ringserve_request* r) {
  PyObject* list = PyList_New(r->requested_output_count);
  for (uint32_t i = 0; list != nullptr && i < r->requested_output_count; ++i) {
    const auto& o = r->requested_outputs[i];
    PyList_SetItem(list, i, Py_BuildValue("(NN)", text(o.name), text(o.parameters_json)));
  }
  return list;
}

// After predict every view it was given or made is released, so Python code that kept one gets
// "operation forbidden on released memoryview" instead of reading a recycled arena block. A view
// still exported (e.g. a numpy array kept alive past predict) cannot be released; that stays the
// runtime's bug, as with a C++ runtime keeping a pointer.
void releaseViews(PyObject* views) {
  const Py_ssize_t n = PyList_Size(views);
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject* view = PyList_GetItem(views, i);
    PyObject* r = interp->releaseName != nullptr ? PyObject_CallMethodObjArgs(view, interp->releaseName, nullptr)
                                                 : PyObject_CallMethod(view, "release", nullptr);
    Py_XDECREF(r);
  }
  PyErr_Clear();
  PyList_SetSlice(views, 0, n, nullptr);
}

int32_t predict(void* model, ringserve_call* call, const ringserve_request* r) {
  auto& m = *static_cast<Model*>(model);
  Gil gil;
  auto* ct = static_cast<CallToken*>(PyCapsule_GetPointer(m.callToken, kCallCapsule));
  ct->call = call;
  PyObject* args = Py_BuildValue("(OONNNN)", m.handle, m.callToken, text(r->id), text(r->parameters_json),
                                 inputList(r, ct->views), requestedList(r));
  PyObject* none = nullptr;
  const int32_t rc = callHost(m, interp->predict, args, call, &none);
  Py_XDECREF(none);
  ct->call = nullptr;
  releaseViews(ct->views);
  return rc;
}

int32_t unload(void* model, ringserve_call* call) {
  auto& m = *static_cast<Model*>(model);
  Gil gil;
  PyObject* none = nullptr;
  const int32_t rc = callHost(m, interp->unload, Py_BuildValue("(O)", m.handle), call, &none);
  Py_XDECREF(none);
  return rc;
}

void destroy(void* model) {
  auto* m = static_cast<Model*>(model);
  {
    Gil gil;
    if (m->modelToken != nullptr)
      static_cast<ModelToken*>(PyCapsule_GetPointer(m->modelToken, kModelCapsule))->model = nullptr;
    Py_XDECREF(m->handle);
    Py_XDECREF(m->modelToken);
    Py_XDECREF(m->callToken);
    PyErr_Clear();
  }
  delete m;
}

// ringserve_host.supports_batching(handle) -> (0, bool): the class's `supports_batching`
// attribute. The ABI entry point has no call to report an error through, so anything but a clear
// (0, False) answers 1, the ABI's default.
int32_t supportsBatching(void* model) {
  auto& m = *static_cast<Model*>(model);
  if (interp->supportsBatching == nullptr) return 1;
  Gil gil;
  int32_t answer = 1;
  if (PyObject* r = PyObject_CallFunctionObjArgs(interp->supportsBatching, m.handle, nullptr); r != nullptr) {
    if (PyTuple_Check(r) && PyTuple_Size(r) == 2 && PyLong_AsLong(PyTuple_GetItem(r, 0)) == RINGSERVE_OK &&
        PyObject_IsTrue(PyTuple_GetItem(r, 1)) == 0)
      answer = 0;
    Py_DECREF(r);
  }
  PyErr_Clear();
  return answer;
}

const ringserve_python_core kCore{create, load, metadata, predict, unload, destroy, supportsBatching};

// CPython takes its prefix (standard library, site-packages) from the program name; an embedded
// interpreter's default is "python3" looked up on PATH. Py_SetProgramName is deprecated since
// 3.11 (PyConfig is not in the stable ABI), so it is looked up rather than linked: a CPython that
// drops it still loads this host, and then only PYTHONHOME decides.
void setProgramName(const char* program) {
  if (program == nullptr || *program == '\0') return;
  using SetProgramName = void (*)(const wchar_t*);
  auto fn = reinterpret_cast<SetProgramName>(dlsym(RTLD_DEFAULT, "Py_SetProgramName"));
  if (fn == nullptr) return;
  // CPython keeps the pointer: the decoded string lives as long as the process.
  if (wchar_t* wide = Py_DecodeLocale(program, nullptr); wide != nullptr) fn(wide);
}

bool initialise(const char* pythonPath, const char* program, std::string& error) {
  setProgramName(program);
  // No signal handlers: the worker owns SIGINT/SIGTERM, and a Python KeyboardInterrupt must only
  // ever come from a runtime raising it.
  Py_InitializeEx(0);
  auto* in = new Interpreter();  // lives as long as the process (the interpreter is never finalised)
  for (std::string_view rest = pythonPath != nullptr ? pythonPath : ""; !rest.empty();) {
    const auto colon = rest.find(':');
    if (const auto dir = rest.substr(0, colon); !dir.empty()) in->pythonPath.emplace_back(dir);
    rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
  }
  // sys.path gets the built-in packages first (the last folder of pythonPath, plugin.cpp), so
  // ringserve's mlserver shadows one an environment brings, then the environment's folders,
  // ahead of the interpreter's own site-packages (as MLServer puts an environment's packages).
  PyObject* sysPath = PySys_GetObject("path");  // borrowed
  std::vector<std::string> front;
  if (!in->pythonPath.empty()) {
    front.push_back(in->pythonPath.back());
    front.insert(front.end(), in->pythonPath.begin(), in->pythonPath.end() - 1);
  }
  for (std::size_t i = 0; i < front.size(); ++i) {
    PyObject* s = PyUnicode_FromString(front[i].c_str());
    if (sysPath != nullptr && s != nullptr) PyList_Insert(sysPath, static_cast<Py_ssize_t>(i), s);
    Py_XDECREF(s);
  }
  for (unsigned i = 0; i < kDatatypeCount; ++i) in->datatypeNames[i] = PyUnicode_InternFromString(kDatatypes[i]);
  in->releaseName = PyUnicode_InternFromString("release");
  PyObject* mod = PyModule_Create(ringserveModule());
  if (mod == nullptr || PyDict_SetItemString(PyImport_GetModuleDict(), "_ringserve", mod) != 0) {
    error = "cannot create the _ringserve module: " + takeException();
  } else if (PyObject* host = PyImport_ImportModule("ringserve_host"); host == nullptr) {
    error =
        "cannot import ringserve_host (searched sys.path, which has the built-in Python packages): " + takeException();
  } else {
    for (auto [slot, name] : {std::pair{&in->create, "create"},
                              {&in->load, "load"},
                              {&in->metadata, "metadata"},
                              {&in->predict, "predict"},
                              {&in->unload, "unload"}})
      if (*slot = PyObject_GetAttrString(host, name); *slot == nullptr && error.empty())
        error = "ringserve_host has no function " + std::string(name) + ": " + takeException();
    if (error.empty()) {
      in->supportsBatching = PyObject_GetAttrString(host, "supports_batching");
      PyErr_Clear();
    }
    Py_DECREF(host);
  }
  Py_XDECREF(mod);
  PyEval_SaveThread();  // release the GIL: from now on every call takes it
  if (!error.empty()) return false;
  interp = in;
  return true;
}

}  // namespace
}  // namespace pyhost

extern "C" __attribute__((visibility("default"))) const ringserve_python_core* ringserve_python_core_init(
    const char* pythonPath, const char* program, char* error, unsigned long errorSize) {
  static std::mutex mu;
  static std::string failure;
  static bool tried = false;
  std::lock_guard lock(mu);
  if (!tried) {
    tried = true;
    pyhost::initialise(pythonPath, program, failure);
  }
  if (pyhost::interp != nullptr) return &pyhost::kCore;
  std::snprintf(error, errorSize, "%s", failure.c_str());
  return nullptr;
}
