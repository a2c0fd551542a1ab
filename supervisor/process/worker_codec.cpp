#include "supervisor/process/worker_codec.hpp"

#include <cstdio>

#include "supervisor/worker_error.hpp"
#include "transport/frame.hpp"
#include "worker.capnp.h"

namespace ringserve::supervisor::detail {

namespace {

std::vector<TensorInfo> tensors(capnp::List<schema::TensorMetadata>::Reader list) {
  std::vector<TensorInfo> out;
  out.reserve(list.size());
  for (auto t : list) {
    TensorInfo info;
    info.name = t.getName().cStr();
    info.datatype = t.getDatatype().cStr();
    for (auto d : t.getShape()) info.shape.push_back(d);
    info.contentType = t.getContentType().cStr();
    out.push_back(std::move(info));
  }
  return out;
}

MetricSample metric(schema::MetricSample::Reader m) {
  MetricSample s;
  s.name = m.getName().cStr();
  s.help = m.getHelp().cStr();
  switch (m.getKind()) {
    case schema::MetricSample::Kind::COUNTER: s.kind = MetricSample::Kind::counter; break;
    case schema::MetricSample::Kind::GAUGE: s.kind = MetricSample::Kind::gauge; break;
    case schema::MetricSample::Kind::HISTOGRAM: s.kind = MetricSample::Kind::histogram; break;
  }
  s.modelName = m.getModelName().cStr();
  s.modelVersion = m.getModelVersion().cStr();
  for (auto l : m.getLabels()) s.labels.emplace_back(l.getName().cStr(), l.getValue().cStr());
  s.value = m.getValue();
  s.count = m.getCount();
  for (auto b : m.getBucketBounds()) s.bucketBounds.push_back(b);
  for (auto c : m.getBucketCounts()) s.bucketCounts.push_back(c);
  return s;
}

}  // namespace

std::vector<std::byte> encodeLoadModel(std::uint64_t id, const ModelLoadSpec& spec) {
  capnp::MallocMessageBuilder msg;
  auto root = msg.initRoot<schema::ToWorker>();
  root.setId(id);
  auto m = root.initLoadModel();
  m.setHandle(spec.handle);
  m.setName(spec.name);
  m.setVersion(spec.version);
  m.setImplementation(spec.implementation);
  m.setSettingsJson(spec.settingsJson);
  m.setModelDir(spec.modelDir);
  auto path = m.initRuntimeSearchPath(static_cast<unsigned>(spec.runtimeSearchPath.size()));
  for (unsigned i = 0; i < path.size(); ++i) path.set(i, spec.runtimeSearchPath[i]);
  return transport::encodeStreamFrame(msg);
}

std::vector<std::byte> encodeUnloadModel(std::uint64_t id, std::uint32_t handle) {
  capnp::MallocMessageBuilder msg;
  auto root = msg.initRoot<schema::ToWorker>();
  root.setId(id);
  root.setUnloadModel(handle);
  return transport::encodeStreamFrame(msg);
}

std::vector<std::byte> encodeShutdown(std::uint64_t id) {
  capnp::MallocMessageBuilder msg;
  auto root = msg.initRoot<schema::ToWorker>();
  root.setId(id);
  root.setShutdown();
  return transport::encodeStreamFrame(msg);
}

DecodeResult decodeFromWorker(std::vector<capnp::word> words) {
  DecodeResult r;
  auto parsed = transport::OwnedFrame::parse(std::move(words));
  if (!parsed) {
    r.error = parsed.error().message;
    return r;
  }
  auto root = parsed->root<schema::FromWorker>();
  if (!root) {
    r.error = root.error().message;
    return r;
  }
  // Getters may throw on a malformed pointer deeper in the message.
  try {
    auto m = root.value();
    r.frame.id = m.getId();
    switch (m.which()) {
      case schema::FromWorker::HELLO: {
        auto h = m.getHello();
        HelloFrame f;
        f.hello.protocol = {h.getProtocolMajor(), h.getProtocolMinor()};
        f.hello.shmLayoutVersion = h.getShmLayoutVersion();
        f.hello.workerVersion = h.getWorkerVersion().cStr();
        f.hello.pid = h.getPid();
        f.hello.sdkAbiMajor = h.getSdkAbiMajor();
        f.hello.sdkAbiMinor = h.getSdkAbiMinor();
        f.schemaId = h.getSchemaId();
        f.refusal = h.getRefusal().cStr();
        r.frame.body = std::move(f);
        break;
      }
      case schema::FromWorker::LOADED: {
        auto l = m.getLoaded();
        LoadedModel lm;
        lm.handle = l.getHandle();
        lm.inputs = tensors(l.getInputs());
        lm.outputs = tensors(l.getOutputs());
        r.frame.body = std::move(lm);
        break;
      }
      case schema::FromWorker::UNLOADED: r.frame.body = m.getUnloaded(); break;
      case schema::FromWorker::ERROR:
        r.frame.body = errorFromWorker(m.getError().getCode(), m.getError().getMessage().cStr());
        break;
      case schema::FromWorker::HEARTBEAT: {
        auto h = m.getHeartbeat();
        WorkerHeartbeat hb;
        hb.served = h.getServed();
        hb.rssBytes = h.getRssBytes();
        for (auto s : h.getMetrics()) hb.metrics.push_back(metric(s));
        r.frame.body = std::move(hb);
        break;
      }
      default:
        r.error = "unknown message kind " + std::to_string(static_cast<unsigned>(m.which())) +
                  " (a newer protocol than this server speaks?)";
        return r;
    }
  } catch (const kj::Exception& e) {
    r.error = std::string("malformed frame: ") + e.getDescription().cStr();
    return r;
  }
  r.ok = true;
  return r;
}

std::string judgeHello(HelloFrame& f, const std::string& poolLabel) {
  auto& h = f.hello;
  if (!f.refusal.empty()) return poolLabel + " worker refused to start: " + f.refusal;
  if (f.schemaId != kWorkerSchemaId) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "schema id 0x%016llx; this server's is 0x%016llx",
                  static_cast<unsigned long long>(f.schemaId), static_cast<unsigned long long>(kWorkerSchemaId));
    return poolLabel + " runs a worker built from another worker schema (" + buf + ")";
  }
  h.compatibility = protocolCompatibility(h.protocol);
  if (h.compatibility == Compatibility::unsupported)
    return poolLabel + " runs a worker speaking protocol " + toString(h.protocol) + "; this server speaks " +
           supportedProtocolRange();
  if (h.shmLayoutVersion != kShmLayoutVersion)
    return poolLabel + " runs a worker using shared-memory layout " + std::to_string(h.shmLayoutVersion) +
           "; this server uses layout " + std::to_string(kShmLayoutVersion);
  return {};
}

}  // namespace ringserve::supervisor::detail
