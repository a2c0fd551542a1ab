#pragma once
// The JSON bodies of Triton's model-configuration and statistics extensions
// (docs/rest-api.md#model-configuration-and-statistics): GET /v2/models/{m}/config and
// GET /v2/models[/{m}[/versions/{v}]]/stats. Field names are those of Triton's model_config.proto
// and grpc_service.proto, so the gRPC front end reads the same text into its messages with
// protobuf's JSON parser (supervisor/grpc/triton_extensions.cpp). Pure text builders.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "supervisor/codec/v2_bodies.hpp"

namespace ringserve::supervisor::codec {

// Triton's spelling of a V2 datatype: "FP32" -> "TYPE_FP32", "BYTES" -> "TYPE_STRING"; an empty
// or unknown one is "TYPE_INVALID".
std::string_view tritonDataType(std::string_view v2);

struct ModelConfigText {
  std::string_view name;
  std::string_view platform;  // model-settings `platform`
  std::string_view backend;   // the runtime: model-settings `implementation`
  std::int64_t maxBatchSize = 0;
  std::vector<TensorEntry> inputs;  // shapes as declared; the batch dimension is dropped when maxBatchSize > 0
  std::vector<TensorEntry> outputs;
  std::size_t instances = 0;  // workers holding the model
  // max_batch_time in microseconds when the model batches (docs/settings.md#adaptive-batching):
  // shown as Triton's dynamic_batching.max_queue_delay_microseconds, its closest knob.
  std::optional<std::uint64_t> maxQueueDelayUs;
};
// {"name","platform","backend","max_batch_size",["dynamic_batching":{"max_queue_delay_microseconds"},]"input":[{"name","data_type","format","dims"}],
//  "output":[{"name","data_type","dims"}],"instance_group":[{"name","kind":"KIND_CPU","count"}]}
std::string modelConfigBody(const ModelConfigText& c);

struct DurationValue {
  std::uint64_t count = 0;
  std::uint64_t ns = 0;
  friend bool operator==(const DurationValue&, const DurationValue&) = default;
};

struct StatsValues {
  std::uint64_t lastInferenceMs = 0;
  std::uint64_t inferenceCount = 0;
  std::uint64_t executionCount = 0;
  DurationValue success, fail, queue, computeInput, computeInfer, computeOutput;
};

struct ModelStatsRow {
  std::string name;
  std::string version;  // "" for a model without versions
  StatsValues values;
};
// {"model_stats":[{"name","version","last_inference","inference_count","execution_count",
//  "inference_stats":{"success","fail","queue","compute_input","compute_infer","compute_output",
//  "cache_hit","cache_miss"},"batch_stats":[]}]}; every duration {"count","ns"}.
std::string modelStatsBody(std::span<const ModelStatsRow> rows);

}  // namespace ringserve::supervisor::codec
