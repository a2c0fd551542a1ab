// The Model base class, the class registry and the C entry points the registration macro pulls
// into every plugin. This file is the only place where C++ exceptions meet the C ABI: every entry
// point catches everything and reports it through the host's set_error.
#include "ringserve/model.hpp"

#include <string>
#include <utility>
#include <vector>

#include "ringserve/simple_model.hpp"

namespace ringserve {

namespace detail {

struct ModelContext {
  const ringserve_host* host = nullptr;
  ringserve_host_model* hostModel = nullptr;
  ModelSettings settings;
  Metrics metrics{nullptr, nullptr};
};

namespace {

struct Registered {
  std::string name;
  Factory factory;
};

std::vector<Registered>& registry() {
  static std::vector<Registered> r;
  return r;
}

// The context of the create call in progress on this thread; the Model constructor copies it.
// A plain pointer: thread_locals with destructors would keep the plugin mapped after dlclose.
thread_local const std::shared_ptr<const ModelContext>* creating = nullptr;

struct Instance {
  std::shared_ptr<const ModelContext> context;
  std::unique_ptr<Model> model;
};

ringserve_string str(std::string_view s) { return {s.data(), s.size()}; }
std::string_view view(const ringserve_string& s) { return s.size == 0 ? std::string_view() : std::string_view(s.data, s.size); }

template <class F>
std::int32_t guarded(const ringserve_host* host, ringserve_call* call, F&& f) {
  auto fail = [&](std::int32_t code, std::string_view message) {
    host->set_error(call, code, str(message));
    return code;
  };
  try {
    f();
    return RINGSERVE_OK;
  } catch (const HostError& e) {
    return e.code();  // the host already recorded the error
  } catch (const BadInput& e) {
    return fail(RINGSERVE_BAD_INPUT, e.what());
  } catch (const std::exception& e) {
    return fail(RINGSERVE_INTERNAL, e.what());
  } catch (...) {
    return fail(RINGSERVE_INTERNAL, "unknown exception (not derived from std::exception)");
  }
}

}  // namespace

bool registerRuntime(const char* className, Factory factory) {
  registry().push_back({className, factory});
  return true;
}

std::string defaultOutputName(std::size_t index) { return "output-" + std::to_string(index); }

}  // namespace detail

Model::Model() : context_(detail::creating != nullptr ? *detail::creating : nullptr) {
  if (!context_) throw std::logic_error("ringserve::Model constructed outside the worker's create call");
}

Model::~Model() = default;

const ModelSettings& Model::settings() const { return context_->settings; }
const Metrics& Model::metrics() const { return context_->metrics; }

void Model::log(LogLevel level, std::string_view message) const {
  if (context_->host->log != nullptr)
    context_->host->log(context_->hostModel, static_cast<std::int32_t>(level), detail::str(message));
}

}  // namespace ringserve

using ringserve::detail::guarded;
using ringserve::detail::Instance;
using ringserve::detail::str;
using ringserve::detail::view;

extern "C" {

RINGSERVE_EXPORT void ringserve_plugin_api_version(uint32_t* major, uint32_t* minor) {
  *major = RINGSERVE_ABI_MAJOR;
  *minor = RINGSERVE_ABI_MINOR;
}

RINGSERVE_EXPORT const char* const* ringserve_plugin_classes(uint32_t* count) {
  // Registration happens during static initialisation, before the host can call this.
  static const std::vector<const char*> names = [] {
    std::vector<const char*> n;
    for (const auto& r : ringserve::detail::registry()) n.push_back(r.name.c_str());
    return n;
  }();
  *count = static_cast<uint32_t>(names.size());
  return names.data();
}

RINGSERVE_EXPORT int32_t ringserve_model_create(const ringserve_host* host, ringserve_call* call,
                                                const ringserve_model_info* info, void** model) {
  *model = nullptr;
  if (host->abi_major != RINGSERVE_ABI_MAJOR) {
    const std::string m = "plugin built for SDK ABI " + std::to_string(RINGSERVE_ABI_MAJOR) + "." +
                          std::to_string(RINGSERVE_ABI_MINOR) + " cannot be used by a host speaking " +
                          std::to_string(host->abi_major) + "." + std::to_string(host->abi_minor);
    host->set_error(call, RINGSERVE_INTERNAL, {m.data(), m.size()});
    return RINGSERVE_INTERNAL;
  }
  return guarded(host, call, [&] {
    using namespace ringserve::detail;
    const std::string_view className = view(info->class_name);
    Factory factory = nullptr;
    for (const auto& r : registry())
      if (r.name == className) factory = r.factory;
    if (factory == nullptr) throw std::runtime_error("class '" + std::string(className) + "' is not registered");
    auto context = std::make_shared<ModelContext>();
    context->host = host;
    context->hostModel = info->host_model;
    context->settings = ringserve::ModelSettings::parse(view(info->settings_json), view(info->model_dir));
    if (context->settings.implementation.empty()) context->settings.implementation = std::string(view(info->implementation));
    if (context->settings.name.empty()) context->settings.name = std::string(view(info->name));
    if (context->settings.version.empty()) context->settings.version = std::string(view(info->version));
    context->metrics = ringserve::Metrics(host, info->host_model);
    const std::shared_ptr<const ModelContext> shared = context;
    creating = &shared;
    struct Reset {
      ~Reset() { creating = nullptr; }
    } reset;
    auto instance = std::make_unique<Instance>();
    instance->context = context;
    instance->model = factory();
    *model = instance.release();
  });
}

RINGSERVE_EXPORT int32_t ringserve_model_load(void* model, ringserve_call* call) {
  auto* inst = static_cast<Instance*>(model);
  return guarded(inst->context->host, call, [&] { inst->model->load(); });
}

RINGSERVE_EXPORT int32_t ringserve_model_predict(void* model, ringserve_call* call, const ringserve_request* request) {
  auto* inst = static_cast<Instance*>(model);
  const ringserve_host* host = inst->context->host;
  return guarded(host, call, [&] {
    const ringserve::InferenceRequest req(*request, host, call, &inst->context->settings);
    ringserve::InferenceResponse resp = inst->model->predict(req);
    resp.finish();
  });
}

RINGSERVE_EXPORT int32_t ringserve_model_unload(void* model, ringserve_call* call) {
  auto* inst = static_cast<Instance*>(model);
  return guarded(inst->context->host, call, [&] { inst->model->unload(); });
}

RINGSERVE_EXPORT void ringserve_model_destroy(void* model) {
  delete static_cast<Instance*>(model);
}

// No call to report an error through: an exception counts as "supports batching" (the default).
RINGSERVE_EXPORT int32_t ringserve_model_supports_batching(void* model) {
  try {
    return static_cast<Instance*>(model)->model->supportsBatching() ? 1 : 0;
  } catch (...) {
    return 1;
  }
}

RINGSERVE_EXPORT int32_t ringserve_model_metadata(void* model, ringserve_call* call) {
  auto* inst = static_cast<Instance*>(model);
  const ringserve_host* host = inst->context->host;
  return guarded(host, call, [&] {
    auto report = [&](int32_t isOutput, const std::vector<ringserve::TensorMetadata>& list) {
      for (const auto& m : list)
        host->add_tensor_metadata(call, isOutput, str(m.name), str(m.datatype), m.shape.data(),
                                  static_cast<uint32_t>(m.shape.size()), str(m.contentType));
    };
    report(0, inst->model->inputs());
    report(1, inst->model->outputs());
  });
}

}  // extern "C"
