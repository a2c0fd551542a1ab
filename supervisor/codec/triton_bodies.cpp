#include "supervisor/codec/triton_bodies.hpp"

#include <array>
#include <utility>

#include "supervisor/codec/json_text.hpp"

namespace ringserve::supervisor::codec {

namespace {

void appendDims(std::string& j, std::span<const std::int64_t> shape) {
  j += '[';
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) j += ',';
    j += std::to_string(shape[i]);
  }
  j += ']';
}

void appendConfigTensors(std::string& j, const std::vector<TensorEntry>& tensors, bool input, bool batched) {
  j += '[';
  for (std::size_t t = 0; t < tensors.size(); ++t) {
    const auto& e = tensors[t];
    if (t) j += ',';
    j += "{\"name\":";
    appendJsonString(j, e.name);
    j += ",\"data_type\":\"";
    j += tritonDataType(e.datatype);
    j += input ? "\",\"format\":\"FORMAT_NONE\",\"dims\":" : "\",\"dims\":";
    // Triton's dims leave out the batch dimension of a model that batches.
    auto dims = e.shape;
    if (batched && !dims.empty()) dims = dims.subspan(1);
    appendDims(j, dims);
    j += '}';
  }
  j += ']';
}

void appendDuration(std::string& j, std::string_view key, const DurationValue& d) {
  j += '"';
  j += key;
  j += "\":{\"count\":";
  j += std::to_string(d.count);
  j += ",\"ns\":";
  j += std::to_string(d.ns);
  j += '}';
}

void appendStatsRow(std::string& j, const ModelStatsRow& r) {
  const auto& v = r.values;
  j += "{\"name\":";
  appendJsonString(j, r.name);
  // Always present (Triton's schema calls it optional): clients such as perf_analyzer read it
  // unconditionally.
  j += ",\"version\":";
  appendJsonString(j, r.version);
  j += ",\"last_inference\":" + std::to_string(v.lastInferenceMs);
  j += ",\"inference_count\":" + std::to_string(v.inferenceCount);
  j += ",\"execution_count\":" + std::to_string(v.executionCount);
  j += ",\"inference_stats\":{";
  const std::array<std::pair<std::string_view, const DurationValue*>, 6> phases{{{"success", &v.success},
                                                                                 {"fail", &v.fail},
                                                                                 {"queue", &v.queue},
                                                                                 {"compute_input", &v.computeInput},
                                                                                 {"compute_infer", &v.computeInfer},
                                                                                 {"compute_output", &v.computeOutput}}};
  for (const auto& [key, d] : phases) {
    appendDuration(j, key, *d);
    j += ',';
  }
  // No response cache: always zero, as Triton reports a model without one.
  appendDuration(j, "cache_hit", {});
  j += ',';
  appendDuration(j, "cache_miss", {});
  j += "},\"batch_stats\":[]}";
}

}  // namespace

std::string_view tritonDataType(std::string_view v2) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 14> kTypes{{
      {"BOOL", "TYPE_BOOL"},
      {"UINT8", "TYPE_UINT8"},
      {"UINT16", "TYPE_UINT16"},
      {"UINT32", "TYPE_UINT32"},
      {"UINT64", "TYPE_UINT64"},
      {"INT8", "TYPE_INT8"},
      {"INT16", "TYPE_INT16"},
      {"INT32", "TYPE_INT32"},
      {"INT64", "TYPE_INT64"},
      {"FP16", "TYPE_FP16"},
      {"FP32", "TYPE_FP32"},
      {"FP64", "TYPE_FP64"},
      {"BYTES", "TYPE_STRING"},
      {"BF16", "TYPE_BF16"},
  }};
  for (const auto& [v2name, triton] : kTypes)
    if (v2name == v2) return triton;
  return "TYPE_INVALID";
}

std::string modelConfigBody(const ModelConfigText& c) {
  const bool batched = c.maxBatchSize > 0;
  std::string j = "{\"name\":";
  appendJsonString(j, c.name);
  j += ",\"platform\":";
  appendJsonString(j, c.platform);
  j += ",\"backend\":";
  appendJsonString(j, c.backend);
  j += ",\"max_batch_size\":" + std::to_string(c.maxBatchSize);
  if (c.maxQueueDelayUs)
    j += ",\"dynamic_batching\":{\"max_queue_delay_microseconds\":" + std::to_string(*c.maxQueueDelayUs) + "}";
  j += ",\"input\":";
  appendConfigTensors(j, c.inputs, true, batched);
  j += ",\"output\":";
  appendConfigTensors(j, c.outputs, false, batched);
  j += ",\"instance_group\":[{\"name\":";
  appendJsonString(j, std::string(c.name) + "_0");
  j += ",\"kind\":\"KIND_CPU\",\"count\":" + std::to_string(c.instances) + "}]}";
  return j;
}

std::string modelStatsBody(std::span<const ModelStatsRow> rows) {
  std::string j = "{\"model_stats\":[";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (i) j += ',';
    appendStatsRow(j, rows[i]);
  }
  j += "]}";
  return j;
}

}  // namespace ringserve::supervisor::codec
