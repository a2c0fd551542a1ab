// RoutingPublication (routing_publication.hpp): the routing table and the index from the
// registry's instances; the V2 model metadata body and Triton's model configuration are encoded
// by codec/v2_bodies and codec/triton_bodies from what the registry knows.
#include "supervisor/core/routing_publication.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <tuple>

#include "supervisor/codec/triton_bodies.hpp"
#include "supervisor/codec/v2_bodies.hpp"
#include "supervisor/core/model_registry.hpp"

namespace ringserve::supervisor {

const ModelRoute* RoutingTable::find(const std::string& name, const std::string& version) const {
  auto it = models.find(name);
  if (it == models.end()) return nullptr;
  const auto& v = version.empty() ? it->second.defaultVersion : version;
  auto jt = it->second.byVersion.find(v);
  return jt == it->second.byVersion.end() ? nullptr : jt->second.get();
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

std::string metadataJson(const ModelInstance& inst) {
  const auto& s = *inst.settings;
  codec::ModelMetadata m{inst.name, s.versions, s.platform, {}, {}, std::nullopt};
  m.inputs = tensorEntries(s.inputs, inst.reported ? &inst.reported->inputs : nullptr);
  m.outputs = tensorEntries(s.outputs, inst.reported ? &inst.reported->outputs : nullptr);
  if (s.parameters.contentType) m.contentType = *s.parameters.contentType;
  return codec::modelMetadataBody(m);
}

// Triton's model configuration; `instances`: the workers holding the model.
std::string configJson(const ModelInstance& inst, std::size_t instances) {
  const auto& s = *inst.settings;
  codec::ModelConfigText c{inst.name, s.platform, s.implementation, s.maxBatchSize, {}, {}, instances, std::nullopt};
  c.inputs = tensorEntries(s.inputs, inst.reported ? &inst.reported->inputs : nullptr);
  c.outputs = tensorEntries(s.outputs, inst.reported ? &inst.reported->outputs : nullptr);
  if (s.batching()) c.maxQueueDelayUs = static_cast<std::uint64_t>(std::llround(s.maxBatchTime * 1e6));
  return codec::modelConfigBody(c);
}

}  // namespace

void RoutingPublication::publish(const std::vector<std::shared_ptr<ModelInstance>>& instances,
                                 const std::vector<IndexEntry>& broken,
                                 const std::map<std::pair<std::string, std::string>, std::string>& unloaded) {
  auto table = std::make_shared<RoutingTable>();
  std::vector<IndexEntry> index;
  std::map<std::string, std::vector<std::optional<std::string>>> versions;
  for (const auto& inst : instances) {
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
      for (WorkerSlot* s : inst->loaded)
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
  for (const auto& b : broken) index.push_back(b);
  for (const auto& [key, reason] : unloaded) {
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

std::vector<IndexEntry> RoutingPublication::index() const {
  std::lock_guard lock(indexMutex_);
  return index_;
}

}  // namespace ringserve::supervisor
