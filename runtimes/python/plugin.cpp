// libringserve_python.so: the runtime plugin the worker opens for a Python `implementation`
// (worker/resolve.cpp chooses it). It has no Python symbols of its own, so the worker can open
// it with RTLD_NOW | RTLD_LOCAL like any plugin; on the first create it dlopens libpython with
// RTLD_GLOBAL (so C extensions such as numpy find the interpreter's symbols), then the CPython
// host next to it (libringserve_python_core.so), and forwards every entry point there.
//
// Neither library is ever dlclosed: an interpreter cannot be unloaded, so once opened both stay
// for the life of the worker process even if the worker closes this plugin.
//
// Parameters (read from the worker's environment, so a Python environment can bring another
// interpreter; the supervisor sets them per worker pool):
//   RINGSERVE_PYTHON_LIBRARY  the libpython3.X.so to load (default: the build machine's
//                             /usr/bin/python3's, RINGSERVE_DEFAULT_PYTHON_LIBRARY)
//   PYTHONHOME                (CPython's own) where that interpreter's standard library is; the
//                             supervisor sets it with RINGSERVE_PYTHON_LIBRARY. Without either,
//                             the default library gets the default interpreter's prefix
//                             (RINGSERVE_DEFAULT_PYTHON_EXECUTABLE): otherwise CPython derives it
//                             from the first `python3` on PATH, e.g. a pyenv shim, and the system
//                             libpython would run another installation's standard library and
//                             site-packages (no numpy, no sklearn).
//   RINGSERVE_PYTHON_PATH     ':'-separated folders searched for Python modules before the
//                             built-in packages (an environment's site-packages); on sys.path
//                             they come after the built-in packages and before the
//                             interpreter's own site-packages (core.cpp)
//   RINGSERVE_PYTHON_BUILTIN  the built-in packages folder (mlserver, ringserve_host, ...);
//                             default: lib/ringserve/python beside the runtime folder
#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>

#include "core_api.h"

namespace {

std::mutex mu;
const ringserve_python_core* core = nullptr;
std::string failure;

std::filesystem::path ownFolder() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&ownFolder), &info) == 0 || info.dli_fname == nullptr) return {};
  return std::filesystem::path(info.dli_fname).parent_path();
}

std::string env(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

const ringserve_python_core* open(std::string& error) {
  std::lock_guard lock(mu);
  if (core != nullptr || !failure.empty()) {
    error = failure;
    return core;
  }
  const std::string lib = env("RINGSERVE_PYTHON_LIBRARY", RINGSERVE_DEFAULT_PYTHON_LIBRARY);
  const bool defaultInterpreter = env("RINGSERVE_PYTHON_LIBRARY", "").empty() && env("PYTHONHOME", "").empty();
  const std::string program = defaultInterpreter ? RINGSERVE_DEFAULT_PYTHON_EXECUTABLE : "";
  const auto here = ownFolder();
  // <prefix>/lib/ringserve/runtimes/ -> <prefix>/lib/ringserve/python (a build tree has the same
  // layout; its python/ links to the source folder).
  // RINGSERVE_PYTHON_BUILTIN replaces that folder (tests run the host with a stand-in Python half).
  const std::string builtin = env("RINGSERVE_PYTHON_BUILTIN", (here.parent_path() / "python").c_str());
  std::string path = env("RINGSERVE_PYTHON_PATH", "");
  path += (path.empty() ? "" : ":") + builtin;
  if (dlopen(lib.c_str(), RTLD_NOW | RTLD_GLOBAL) == nullptr) {
    failure = "cannot load the Python interpreter library " + lib + " (set RINGSERVE_PYTHON_LIBRARY): " + dlerror();
  } else if (void* h = dlopen((here / "libringserve_python_core.so").c_str(), RTLD_NOW | RTLD_LOCAL); h == nullptr) {
    failure = std::string("cannot load the Python host: ") + dlerror();
  } else if (auto init = reinterpret_cast<ringserve_python_core_init_fn>(dlsym(h, RINGSERVE_PYTHON_CORE_INIT));
             init == nullptr) {
    failure = "the Python host library exports no " RINGSERVE_PYTHON_CORE_INIT;
  } else {
    char buf[2048] = {};
    core = init(path.c_str(), program.c_str(), buf, sizeof buf);
    if (core == nullptr) failure = std::string("the Python interpreter (") + lib + ") did not start: " + buf;
  }
  error = failure;
  return core;
}

ringserve_string text(const std::string& s) { return {s.data(), s.size()}; }

}  // namespace

extern "C" {

RINGSERVE_EXPORT void ringserve_plugin_api_version(uint32_t* major, uint32_t* minor) {
  *major = RINGSERVE_ABI_MAJOR;
  *minor = RINGSERVE_ABI_MINOR;
}

// The classes are Python's: the worker does not check them for this plugin, and
// ringserve_host.create names the MLModel subclasses a module defines when the class is missing.
RINGSERVE_EXPORT const char* const* ringserve_plugin_classes(uint32_t* count) {
  static const char* const none[] = {nullptr};
  *count = 0;
  return none;
}

RINGSERVE_EXPORT int32_t ringserve_model_create(const ringserve_host* host, ringserve_call* call,
                                                const ringserve_model_info* info, void** model) {
  std::string error;
  const auto* c = open(error);
  if (c == nullptr) {
    host->set_error(call, RINGSERVE_INTERNAL, text(error));
    return RINGSERVE_INTERNAL;
  }
  return c->create(host, call, info, model);
}

// Models exist only after a successful open(), so `core` is set from here on.
RINGSERVE_EXPORT int32_t ringserve_model_load(void* model, ringserve_call* call) { return core->load(model, call); }
RINGSERVE_EXPORT int32_t ringserve_model_metadata(void* model, ringserve_call* call) {
  return core->metadata(model, call);
}
RINGSERVE_EXPORT int32_t ringserve_model_predict(void* model, ringserve_call* call, const ringserve_request* request) {
  return core->predict(model, call, request);
}
RINGSERVE_EXPORT int32_t ringserve_model_unload(void* model, ringserve_call* call) { return core->unload(model, call); }
RINGSERVE_EXPORT void ringserve_model_destroy(void* model) { core->destroy(model); }
RINGSERVE_EXPORT int32_t ringserve_model_supports_batching(void* model) { return core->supports_batching(model); }

}  // extern "C"
