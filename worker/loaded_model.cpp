#include "worker/loaded_model.hpp"

#include "ringserve/settings.hpp"

#include "worker/error.hpp"
#include "worker/log.hpp"
#include "worker/resolve.hpp"

namespace ringserve::worker {

namespace {
ringserve_string str(const std::string& s) { return {s.data(), s.size()}; }

schema::ErrorCode codeOf(std::int32_t rc) {
  switch (rc) {
    case RINGSERVE_BAD_INPUT: return schema::ErrorCode::BAD_INPUT;
    case RINGSERVE_NOT_FOUND: return schema::ErrorCode::NOT_FOUND;
    case RINGSERVE_UNAVAILABLE: return schema::ErrorCode::UNAVAILABLE;
    case RINGSERVE_RESOURCE_EXHAUSTED: return schema::ErrorCode::RESOURCE_EXHAUSTED;
    default: return schema::ErrorCode::INTERNAL;
  }
}

// Whether the supervisor will batch this model's requests: MLServer's rule on the effective
// settings, read with the SDK's parser so a C++ runtime's settings() agrees.
bool batchingEnabled(const ModelSpecData& spec) {
  try {
    return ModelSettings::parse(spec.settingsJson, spec.modelDir).batchingEnabled();
  } catch (const std::exception& e) {
    throw WorkerError(schema::ErrorCode::INTERNAL, "model " + spec.name + ": cannot read its settings: " + e.what());
  }
}

std::string joined(const std::vector<std::string>& v) {
  if (v.empty()) return "none";
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "'" : ", '") + x + "'";
  return s;
}
}  // namespace

std::shared_ptr<LoadedModel> LoadedModel::load(const ModelSpecData& spec, MetricStore& metrics) {
  const Implementation impl = splitImplementation(spec.implementation);
  std::vector<std::string> searchPath = spec.runtimeSearchPath;
  if (searchPath.empty()) searchPath = {spec.modelDir, builtinRuntimeDir()};
  const ResolvedRuntime found = resolveRuntime(impl, spec.implementation, searchPath, environmentPythonPath());
  const std::string& path = found.library;
  auto library = openPluginCached(path);
  // The Python host's classes are the module's; it names the MLModel subclasses on a miss.
  if (found.pythonFile.empty() && !library->hasClass(impl.className))
    throw WorkerError(schema::ErrorCode::NOT_FOUND, "runtime library " + path + " does not register class '" +
                                                        impl.className + "' (implementation '" + spec.implementation +
                                                        "'); it registers: " + joined(library->classes()));

  std::shared_ptr<LoadedModel> m(new LoadedModel());
  m->handle_ = spec.handle;
  m->implementation_ = spec.implementation;
  m->python_ = !found.pythonFile.empty();
  m->library_ = std::move(library);
  m->host_.name = spec.name;
  m->host_.version = spec.version;
  m->host_.label = spec.version.empty() ? spec.name : spec.name + ":" + spec.version;
  m->host_.metrics = &metrics;

  const ringserve_model_info info{str(impl.className), str(spec.implementation), str(spec.name), str(spec.version),
                                  str(spec.settingsJson), str(spec.modelDir), &m->host_};
  const auto& e = m->library_->entry();
  ringserve_call call;
  void* instance = nullptr;
  if (const auto rc = e.create(hostTable(), &call, &info, &instance); rc != RINGSERVE_OK || instance == nullptr) {
    if (instance != nullptr) e.destroy(instance);
    throw WorkerError(codeOf(rc == RINGSERVE_OK ? RINGSERVE_INTERNAL : rc),
                      spec.implementation + ": constructing the runtime failed: " + call.errorMessage);
  }
  m->instance_ = instance;
  if (e.supportsBatching != nullptr && e.supportsBatching(instance) == 0 && batchingEnabled(spec)) {
    m->destroy();
    throw WorkerError(schema::ErrorCode::BAD_INPUT,
                      "model " + spec.name + ": runtime " + spec.implementation +
                          " does not support batching; remove max_batch_size/max_batch_time from its "
                          "model-settings.json");
  }
  ringserve_call loadCall;
  if (const auto rc = e.load(instance, &loadCall); rc != RINGSERVE_OK) {
    m->destroy();
    throw WorkerError(codeOf(rc), spec.implementation + ": load() failed: " + loadCall.errorMessage);
  }
  if (e.metadata != nullptr) {
    ringserve_call metaCall;
    if (e.metadata(instance, &metaCall) == RINGSERVE_OK) {
      m->inputs_ = std::move(metaCall.reportedInputs);
      m->outputs_ = std::move(metaCall.reportedOutputs);
    } else {
      logWarn(m->label(), "the runtime's metadata call failed: {}", metaCall.errorMessage);
    }
  }
  return m;
}

LoadedModel::~LoadedModel() { destroy(); }

void LoadedModel::destroy() {
  if (instance_ == nullptr) return;
  library_->entry().destroy(instance_);
  instance_ = nullptr;
}

void LoadedModel::unload() {
  if (instance_ == nullptr) return;
  ringserve_call call;
  const auto rc = library_->entry().unload(instance_, &call);
  destroy();
  if (rc != RINGSERVE_OK)
    throw WorkerError(codeOf(rc), implementation_ + ": unload() failed: " + call.errorMessage);
}

void ModelTable::insert(std::shared_ptr<LoadedModel> model) {
  std::unique_lock lock(mu_);
  const auto h = model->handle();
  if (!models_.emplace(h, std::move(model)).second)
    throw WorkerError(schema::ErrorCode::BAD_INPUT, "model handle " + std::to_string(h) + " is already loaded");
}

std::shared_ptr<LoadedModel> ModelTable::find(std::uint32_t handle) const {
  std::shared_lock lock(mu_);
  auto it = models_.find(handle);
  return it == models_.end() ? nullptr : it->second;
}

std::shared_ptr<LoadedModel> ModelTable::take(std::uint32_t handle) {
  std::unique_lock lock(mu_);
  auto it = models_.find(handle);
  if (it == models_.end()) return nullptr;
  auto m = std::move(it->second);
  models_.erase(it);
  return m;
}

std::vector<std::shared_ptr<LoadedModel>> ModelTable::takeAll() {
  std::unique_lock lock(mu_);
  std::vector<std::shared_ptr<LoadedModel>> out;
  for (auto& [h, m] : models_) out.push_back(std::move(m));
  models_.clear();
  return out;
}

std::size_t ModelTable::size() const {
  std::shared_lock lock(mu_);
  return models_.size();
}

}  // namespace ringserve::worker
