#include "worker/plugin_library.hpp"

#include <dlfcn.h>

#include <map>
#include <mutex>

#include "schema/version.hpp"
#include "worker/error.hpp"

namespace ringserve::worker {

static_assert(RINGSERVE_ABI_MAJOR == kSdkAbiMajor && RINGSERVE_ABI_MINOR == kSdkAbiMinor,
              "sdk/include/ringserve/abi.h and schema/version.hpp disagree on the SDK ABI version");

namespace {
std::string dlerrorText() {
  const char* e = ::dlerror();
  return e != nullptr ? e : "unknown dlopen error";
}
}  // namespace

std::shared_ptr<PluginLibrary> PluginLibrary::open(const std::string& path) {
  std::shared_ptr<PluginLibrary> lib(new PluginLibrary());
  lib->path_ = path;
  ::dlerror();
  lib->handle_ = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib->handle_ == nullptr)
    throw WorkerError(schema::ErrorCode::INTERNAL, "cannot load runtime library " + path + ": " + dlerrorText());
  auto sym = [&](const char* name) { return ::dlsym(lib->handle_, name); };
  PluginEntryPoints& e = lib->entry_;
  e.apiVersion = reinterpret_cast<ringserve_api_version_fn>(sym(RINGSERVE_SYM_API_VERSION));
  if (e.apiVersion == nullptr)
    throw WorkerError(schema::ErrorCode::INTERNAL,
                      path + " is not a ringserve runtime plugin: it exports no " RINGSERVE_SYM_API_VERSION
                             " (build it with the SDK and register a class with RINGSERVE_REGISTER_RUNTIME)");
  std::uint32_t major = 0, minor = 0;
  e.apiVersion(&major, &minor);
  lib->abiMajor_ = major;
  lib->abiMinor_ = minor;
  if (!sdkAbiCompatible(static_cast<std::uint16_t>(major), static_cast<std::uint16_t>(minor)) || major > 0xffff ||
      minor > 0xffff)
    throw WorkerError(schema::ErrorCode::INCOMPATIBLE,
                      path + " was built for SDK ABI " + std::to_string(major) + "." + std::to_string(minor) +
                          "; this worker supports SDK ABI " + std::to_string(kSdkAbiMajor) + ".0-" +
                          std::to_string(kSdkAbiMajor) + "." + std::to_string(kSdkAbiMinor) +
                          " (rebuild the plugin against this ringserve's SDK)");
  e.classes = reinterpret_cast<ringserve_classes_fn>(sym(RINGSERVE_SYM_CLASSES));
  e.create = reinterpret_cast<ringserve_create_fn>(sym(RINGSERVE_SYM_CREATE));
  e.load = reinterpret_cast<ringserve_model_fn>(sym(RINGSERVE_SYM_LOAD));
  e.predict = reinterpret_cast<ringserve_predict_fn>(sym(RINGSERVE_SYM_PREDICT));
  e.unload = reinterpret_cast<ringserve_model_fn>(sym(RINGSERVE_SYM_UNLOAD));
  e.destroy = reinterpret_cast<ringserve_destroy_fn>(sym(RINGSERVE_SYM_DESTROY));
  e.metadata = reinterpret_cast<ringserve_model_fn>(sym(RINGSERVE_SYM_METADATA));
  e.supportsBatching = reinterpret_cast<ringserve_supports_batching_fn>(sym(RINGSERVE_SYM_SUPPORTS_BATCHING));
  std::string missing;
  auto need = [&](const void* p, const char* name) {
    if (p == nullptr) missing += std::string(missing.empty() ? "" : ", ") + name;
  };
  need(reinterpret_cast<const void*>(e.classes), RINGSERVE_SYM_CLASSES);
  need(reinterpret_cast<const void*>(e.create), RINGSERVE_SYM_CREATE);
  need(reinterpret_cast<const void*>(e.load), RINGSERVE_SYM_LOAD);
  need(reinterpret_cast<const void*>(e.predict), RINGSERVE_SYM_PREDICT);
  need(reinterpret_cast<const void*>(e.unload), RINGSERVE_SYM_UNLOAD);
  need(reinterpret_cast<const void*>(e.destroy), RINGSERVE_SYM_DESTROY);
  if (!missing.empty())
    throw WorkerError(schema::ErrorCode::INTERNAL, path + " lacks required entry points: " + missing);
  std::uint32_t count = 0;
  const char* const* names = e.classes(&count);
  for (std::uint32_t i = 0; names != nullptr && i < count; ++i)
    if (names[i] != nullptr) lib->classes_.emplace_back(names[i]);
  return lib;
}

PluginLibrary::~PluginLibrary() {
  if (handle_ != nullptr) ::dlclose(handle_);
}

bool PluginLibrary::hasClass(const std::string& name) const {
  for (const auto& c : classes_)
    if (c == name) return true;
  return false;
}

std::shared_ptr<PluginLibrary> openPluginCached(const std::string& path) {
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<PluginLibrary>> cache;
  std::lock_guard lock(mu);
  if (auto it = cache.find(path); it != cache.end())
    if (auto lib = it->second.lock()) return lib;
  auto lib = PluginLibrary::open(path);
  cache[path] = lib;
  return lib;
}

}  // namespace ringserve::worker
