// ServerCore, job 4: publication and presentation (supervisor/core/README.md). publish() builds
// the immutable RoutingTable HTTP and gRPC threads read and the repository index; the V2 model
// metadata body is encoded by codec/v2_bodies from what the registry knows; the Prometheus
// collector reports the workers. Main loop only, except index(), which copies under its mutex.
#include <algorithm>
#include <cmath>
#include <tuple>

#include "supervisor/codec/triton_bodies.hpp"
#include "supervisor/codec/v2_bodies.hpp"
#include "supervisor/core/server_core_parts.hpp"

namespace ringserve::supervisor {

const ModelRoute* RoutingTable::find(const std::string& name, const std::string& version) const {
  auto it = models.find(name);
  if (it == models.end()) return nullptr;
  const auto& v = version.empty() ? it->second.defaultVersion : version;
  auto jt = it->second.byVersion.find(v);
  return jt == it->second.byVersion.end() ? nullptr : jt->second.get();
}

// Runs on the main loop (the metrics server lives there), like everything it reads.
void ServerCore::collectWorkerMetrics(std::string& out) const {
  out +=
      "# HELP ringserve_worker_restarts_total Worker processes restarted after dying.\n"
      "# TYPE ringserve_worker_restarts_total counter\n";
  std::string shm =
      "# HELP ringserve_shm_bytes_in_use Request-arena bytes held by requests in flight.\n"
      "# TYPE ringserve_shm_bytes_in_use gauge\n";
  std::string size =
      "# HELP ringserve_shm_segment_bytes Size of each worker's shared-memory segment.\n"
      "# TYPE ringserve_shm_segment_bytes gauge\n";
  std::string ring =
      "# HELP ringserve_ring_occupancy Descriptors waiting in a worker's request rings.\n"
      "# TYPE ringserve_ring_occupancy gauge\n";
  std::string inflight =
      "# HELP ringserve_worker_in_flight Requests sent to a worker and not answered yet.\n"
      "# TYPE ringserve_worker_in_flight gauge\n";
  std::map<std::string, std::pair<std::string, std::string>> custom;  // name -> (header, samples)
  for (const auto& [key, pool] : pools_) {
    for (const auto& slot : pool->slots) {
      const Labels l{{"pool", pool->label}, {"worker", slot->id}};
      out += "ringserve_worker_restarts_total" + formatLabels(l) + " " + std::to_string(slot->policy.restarts()) + "\n";
      if (!slot->link || !slot->link->shm) continue;
      shm += "ringserve_shm_bytes_in_use" + formatLabels(l) + " " +
             std::to_string(slot->link->requestBytesInUse.load(std::memory_order_relaxed)) + "\n";
      const auto& seg = slot->link->shm->segment();
      size += "ringserve_shm_segment_bytes" + formatLabels(l) + " " + std::to_string(seg.size()) + "\n";
      std::uint64_t pending = 0;
      for (std::uint32_t k = 0; k < seg.geometry().lane_count; ++k) {
        auto& idx = seg.lane(k).request;
        pending += std::atomic_ref(idx.head).load(std::memory_order_relaxed) -
                   std::atomic_ref(idx.tail).load(std::memory_order_relaxed);
      }
      ring += "ringserve_ring_occupancy" + formatLabels(l) + " " + std::to_string(pending) + "\n";
      inflight += "ringserve_worker_in_flight" + formatLabels(l) + " " +
                  std::to_string(slot->link->inFlight.load(std::memory_order_relaxed)) + "\n";
      for (const auto& m : slot->lastHeartbeat.metrics) {
        auto& [header, samples] = custom[m.name];
        if (header.empty()) {
          const char* type = m.kind == MetricSample::Kind::counter ? "counter"
                             : m.kind == MetricSample::Kind::gauge ? "gauge"
                                                                   : "histogram";
          header = "# HELP " + m.name + " " + (m.help.empty() ? "Custom metric from a runtime." : m.help) +
                   "\n# TYPE " + m.name + " " + type + "\n";
        }
        Labels ml{{"model_name", m.modelName}, {"model_version", m.modelVersion}, {"worker", slot->id}};
        for (const auto& kv : m.labels) ml.push_back(kv);
        if (m.kind == MetricSample::Kind::histogram) {
          Histogram::Snapshot s;
          s.bounds = m.bucketBounds;
          s.cumulative = m.bucketCounts;
          s.cumulative.push_back(m.count);
          s.sum = m.value;
          s.count = m.count;
          if (s.cumulative.size() == s.bounds.size() + 1) appendHistogram(samples, m.name, ml, s);
        } else {
          samples += m.name + formatLabels(ml) + " " + formatDouble(m.value) + "\n";
        }
      }
    }
  }
  out += shm + size + ring + inflight;
  for (const auto& [name, hs] : custom) out += hs.first + hs.second;
}

namespace {
// Declared tensors win; what the runtime reported fills in when none are declared.
std::vector<codec::TensorEntry> tensorEntries(const std::vector<settings::TensorMetadata>& declared,
                                              const std::vector<TensorInfo>* reported) {
  std::vector<codec::TensorEntry> out;
  if (!declared.empty() || reported == nullptr) {
    for (const auto& t : declared) out.push_back({t.name, t.datatype, t.shape, t.contentType});
  } else {
    for (const auto& t : *reported) out.push_back({t.name, t.datatype, t.shape, t.contentType});
  }
  return out;
}
}  // namespace

std::string ServerCore::metadataJson(const Instance& inst) const {
  const auto& s = *inst.settings;
  codec::ModelMetadata m{inst.name, s.versions, s.platform, {}, {}, std::nullopt};
  m.inputs = tensorEntries(s.inputs, inst.reported ? &inst.reported->inputs : nullptr);
  m.outputs = tensorEntries(s.outputs, inst.reported ? &inst.reported->outputs : nullptr);
  if (s.parameters.contentType) m.contentType = *s.parameters.contentType;
  return codec::modelMetadataBody(m);
}

std::string ServerCore::configJson(const Instance& inst, std::size_t instances) const {
  const auto& s = *inst.settings;
  codec::ModelConfigText c{inst.name, s.platform, s.implementation, s.maxBatchSize, {}, {}, instances, std::nullopt};
  c.inputs = tensorEntries(s.inputs, inst.reported ? &inst.reported->inputs : nullptr);
  c.outputs = tensorEntries(s.outputs, inst.reported ? &inst.reported->outputs : nullptr);
  if (s.batching()) c.maxQueueDelayUs = static_cast<std::uint64_t>(std::llround(s.maxBatchTime * 1e6));
  return codec::modelConfigBody(c);
}

void ServerCore::publish() {
  auto table = std::make_shared<RoutingTable>();
  std::vector<IndexEntry> index;
  std::map<std::string, std::vector<std::optional<std::string>>> versions;
  for (const auto& inst : instances_) {
    if (inst->gone()) continue;
    if (inst->candidate) continue;  // not routed until it replaces the old copy
    index.push_back({inst->name, inst->version, inst->state(), inst->reason});
    if (inst->phase == ModelPhase::draining) continue;
    auto route = std::make_shared<ModelRoute>();
    route->name = inst->name;
    route->version = inst->version;
    route->state = inst->state();
    route->reason = inst->reason;
    route->restarting = retriable(inst->phase);
    route->settings = inst->settings;
    route->counters = inst->counters;
    route->metadataJson = metadataJson(*inst);
    if (inst->phase == ModelPhase::ready)
      for (Slot* s : inst->loaded)
        if (s->link && !s->link->dead()) route->targets.push_back({s->link, inst->handle});
    route->configJson = configJson(*inst, route->targets.size());
    if (inst->phase != ModelPhase::ready) table->allReady = false;
    auto& mv = table->models[inst->name];
    mv.byVersion[inst->version] = route;
    versions[inst->name].push_back(inst->version.empty() ? std::nullopt : std::optional<std::string>(inst->version));
  }
  for (auto& [name, list] : versions) {
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
    auto i = settings::defaultVersionIndex(list);
    if (i) table->models[name].defaultVersion = list[*i].value_or("");
  }
  for (const auto& b : brokenModels_) index.push_back(b);
  for (const auto& [key, reason] : unloaded_) {
    bool present = false;
    for (const auto& e : index)
      if (e.name == key.first && e.version == key.second) present = true;
    if (!present) index.push_back({key.first, key.second, ModelState::unavailable, reason});
  }
  std::sort(index.begin(), index.end(), [](const IndexEntry& a, const IndexEntry& b) {
    return std::tie(a.name, a.version) < std::tie(b.name, b.version);
  });
  routing_.publish(std::move(table));
  std::lock_guard lock(indexMutex_);
  index_ = std::move(index);
}

std::vector<IndexEntry> ServerCore::index() const {
  std::lock_guard lock(indexMutex_);
  return index_;
}

}  // namespace ringserve::supervisor
