#include "worker/host_api.hpp"

#include <string_view>

#include "worker/log.hpp"

namespace ringserve::worker {

namespace {

std::string_view view(const ringserve_string& s) { return s.size == 0 ? std::string_view() : std::string_view(s.data, s.size); }

void setError(ringserve_call* call, std::int32_t code, ringserve_string message) {
  call->errorCode = code == RINGSERVE_OK ? RINGSERVE_INTERNAL : code;
  call->errorMessage.assign(view(message));
}

std::int32_t allocateOutput(ringserve_call* call, const ringserve_output_spec* spec, void** data) {
  if (call->outputs == nullptr) {
    call->errorCode = RINGSERVE_INTERNAL;
    call->errorMessage = "outputs can only be allocated during predict";
    return RINGSERVE_INTERNAL;
  }
  std::string error;
  const std::int32_t rc = call->outputs->allocate(*spec, data, error);
  if (rc != RINGSERVE_OK) {
    call->errorCode = rc;
    call->errorMessage = std::move(error);
  }
  return rc;
}

void setResponseParameters(ringserve_call* call, ringserve_string json) { call->responseParameters.assign(view(json)); }

void addTensorMetadata(ringserve_call* call, std::int32_t isOutput, ringserve_string name, ringserve_string datatype,
                       const std::int64_t* shape, std::uint32_t rank, ringserve_string contentType) {
  ReportedTensor t{std::string(view(name)), std::string(view(datatype)), std::string(view(contentType)), {}};
  if (shape != nullptr) t.shape.assign(shape, shape + rank);
  (isOutput ? call->reportedOutputs : call->reportedInputs).push_back(std::move(t));
}

void logFromPlugin(ringserve_host_model* model, std::int32_t level, ringserve_string message) {
  spdlog::level::level_enum l = spdlog::level::info;
  switch (level) {
    case RINGSERVE_LOG_DEBUG: l = spdlog::level::debug; break;
    case RINGSERVE_LOG_WARN: l = spdlog::level::warn; break;
    case RINGSERVE_LOG_ERROR: l = spdlog::level::err; break;
    default: break;
  }
  logLine(l, model != nullptr ? std::string_view(model->label) : std::string_view(), view(message));
}

void metric(ringserve_host_model* model, const ringserve_metric* m) {
  if (model == nullptr || model->metrics == nullptr || m == nullptr) return;
  if (!model->metrics->record(model->name, model->version, *m))
    logWarn(model->label, "ignored custom metric '{}': invalid name or already registered with another kind",
            view(m->name));
}

const ringserve_host kHost = {
    sizeof(ringserve_host), RINGSERVE_ABI_MAJOR, RINGSERVE_ABI_MINOR, &setError, &allocateOutput,
    &setResponseParameters, &addTensorMetadata, &logFromPlugin, &metric,
};

}  // namespace

const ringserve_host* hostTable() { return &kHost; }

}  // namespace ringserve::worker
