#pragma once
// One runtime plugin library, opened with dlopen(RTLD_NOW | RTLD_LOCAL): its ABI version is
// checked and its entry points resolved before anything else is called. Move-only RAII: the
// destructor dlcloses, so a PluginLibrary must outlive every model instance created from it
// (LoadedModel holds a shared_ptr to it).
#include <memory>
#include <string>
#include <vector>

#include "ringserve/abi.h"

namespace ringserve::worker {

struct PluginEntryPoints {
  ringserve_api_version_fn apiVersion = nullptr;
  ringserve_classes_fn classes = nullptr;
  ringserve_create_fn create = nullptr;
  ringserve_model_fn load = nullptr;
  ringserve_predict_fn predict = nullptr;
  ringserve_model_fn unload = nullptr;
  ringserve_destroy_fn destroy = nullptr;
  ringserve_model_fn metadata = nullptr;                      // optional
  ringserve_supports_batching_fn supportsBatching = nullptr;  // optional (1.1); absent = supports batching
};

class PluginLibrary {
 public:
  // Throws WorkerError (code incompatible for an ABI mismatch, internal otherwise) naming `path`
  // and what is wrong: not a loadable library (dlerror), no ringserve_* entry points, another ABI.
  static std::shared_ptr<PluginLibrary> open(const std::string& path);
  ~PluginLibrary();
  PluginLibrary(const PluginLibrary&) = delete;
  PluginLibrary& operator=(const PluginLibrary&) = delete;

  const std::string& path() const { return path_; }
  const PluginEntryPoints& entry() const { return entry_; }
  const std::vector<std::string>& classes() const { return classes_; }
  bool hasClass(const std::string& name) const;
  unsigned abiMajor() const { return abiMajor_; }
  unsigned abiMinor() const { return abiMinor_; }

 private:
  PluginLibrary() = default;
  std::string path_;
  void* handle_ = nullptr;
  PluginEntryPoints entry_;
  std::vector<std::string> classes_;
  unsigned abiMajor_ = 0, abiMinor_ = 0;
};

// Libraries shared by the models that use them: a second model from the same file reuses the open
// library; the file is dlclosed when its last model is gone, so a rebuilt plugin is normally
// picked up by the next load (unless the plugin itself pins its image, e.g. with thread_local
// objects that have destructors; the SDK avoids those). Thread-safe.
std::shared_ptr<PluginLibrary> openPluginCached(const std::string& path);

}  // namespace ringserve::worker
