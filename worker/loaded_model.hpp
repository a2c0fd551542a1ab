#pragma once
// A model instance living in this worker, and the table of them by supervisor-chosen handle.
//
// Concurrency: load/unload run on control-side job threads, predict on the inference thread.
// The table is a shared_mutex-protected map of shared_ptrs: the inference thread copies the
// pointer under a shared lock and then holds the model's `busy` mutex while predicting; unload
// removes the model from the table first and then takes `busy`, so it waits for a predict in
// progress and no new predict can start (it would find the model marked unloaded).
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "worker/host_api.hpp"
#include "worker/metric_store.hpp"
#include "worker/plugin_library.hpp"

namespace ringserve::worker {

struct ModelSpecData {
  std::uint32_t handle = 0;
  std::string name, version, implementation, settingsJson, modelDir;
  std::vector<std::string> runtimeSearchPath;  // empty: model folder, then the built-in folder
};

class LoadedModel {
 public:
  // Resolves the implementation, opens the library, creates and loads the instance and asks for
  // its metadata. Throws WorkerError with the message the supervisor shows for the failed load.
  static std::shared_ptr<LoadedModel> load(const ModelSpecData& spec, MetricStore& metrics);
  ~LoadedModel();
  LoadedModel(const LoadedModel&) = delete;
  LoadedModel& operator=(const LoadedModel&) = delete;

  std::uint32_t handle() const { return handle_; }
  const std::string& name() const { return host_.name; }
  const std::string& version() const { return host_.version; }
  const std::string& label() const { return host_.label; }
  const std::string& implementation() const { return implementation_; }
  // Served by the Python host, whose error messages are already MLServer's ("<module>.<Class>: ..."
  // for a plain exception), so the worker adds no implementation prefix to them.
  bool python() const { return python_; }
  const std::string& libraryPath() const { return library_->path(); }
  const std::vector<ReportedTensor>& inputs() const { return inputs_; }
  const std::vector<ReportedTensor>& outputs() const { return outputs_; }

  // Held by whoever calls predict or unload.
  std::mutex& busy() { return busy_; }
  // Caller holds busy(). False when the model was unloaded meanwhile.
  bool live() const { return instance_ != nullptr; }
  std::int32_t predict(ringserve_call& call, const ringserve_request& request) {
    return library_->entry().predict(instance_, &call, &request);
  }
  // Caller holds busy(). Runs the runtime's unload() and destroys the instance; throws
  // WorkerError if unload() failed (the instance is destroyed either way).
  void unload();

 private:
  LoadedModel() = default;
  void destroy();

  std::uint32_t handle_ = 0;
  std::string implementation_;
  bool python_ = false;
  std::shared_ptr<PluginLibrary> library_;
  void* instance_ = nullptr;
  ringserve_host_model host_;
  std::vector<ReportedTensor> inputs_, outputs_;
  std::mutex busy_;
};

class ModelTable {
 public:
  // Throws WorkerError(badInput) when the handle is taken.
  void insert(std::shared_ptr<LoadedModel> model);
  std::shared_ptr<LoadedModel> find(std::uint32_t handle) const;
  // Removes and returns the model (nullptr when absent).
  std::shared_ptr<LoadedModel> take(std::uint32_t handle);
  std::vector<std::shared_ptr<LoadedModel>> takeAll();
  std::size_t size() const;

 private:
  mutable std::shared_mutex mu_;
  std::map<std::uint32_t, std::shared_ptr<LoadedModel>> models_;
};

}  // namespace ringserve::worker
