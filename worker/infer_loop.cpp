#include "worker/infer_loop.hpp"

#include <capnp/message.h>

#include <chrono>
#include <cstring>
#include <optional>

#include "ringserve/datatype.hpp"
#include "transport/bytes_elements.hpp"
#include "transport/frame.hpp"
#include "transport/wake.hpp"
#include "worker/log.hpp"
#include "worker.capnp.h"

namespace ringserve::worker {

namespace {

using transport::Descriptor;
using transport::DescriptorKind;

struct Failure {
  schema::ErrorCode code;
  std::string message;
};

ringserve_string str(capnp::Text::Reader t) { return {t.cStr(), t.size()}; }
capnp::Text::Reader text(const std::string& s) { return {s.data(), s.size()}; }

schema::ErrorCode codeOf(std::int32_t rc) {
  switch (rc) {
    case RINGSERVE_BAD_INPUT: return schema::ErrorCode::BAD_INPUT;
    case RINGSERVE_NOT_FOUND: return schema::ErrorCode::NOT_FOUND;
    case RINGSERVE_UNAVAILABLE: return schema::ErrorCode::UNAVAILABLE;
    case RINGSERVE_RESOURCE_EXHAUSTED: return schema::ErrorCode::RESOURCE_EXHAUSTED;
    default: return schema::ErrorCode::INTERNAL;
  }
}

std::string shapeText(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Decoded request: shapes copied out of the frame (tiny), tensor data left in the arena.
struct DecodedRequest {
  std::vector<std::vector<std::int64_t>> shapes;
  std::vector<ringserve_tensor> inputs;
  std::vector<ringserve_requested_output> requested;
  ringserve_request raw{};
};

std::optional<Failure> decodeRequest(schema::InferRequest::Reader req, transport::WorkerEndpoint& ep, std::uint32_t lane,
                                     DecodedRequest& out) {
  auto inputs = req.getInputs();
  out.shapes.resize(inputs.size());
  out.inputs.resize(inputs.size());
  for (unsigned i = 0; i < inputs.size(); ++i) {
    auto t = inputs[i];
    const std::string name(t.getName().cStr(), t.getName().size());
    auto bad = [&](std::string m) { return Failure{schema::ErrorCode::BAD_INPUT, "input '" + name + "': " + m}; };
    const auto dt = static_cast<std::uint32_t>(t.getDatatype());
    if (!isValidDataType(dt)) return bad("unknown datatype " + std::to_string(dt));
    auto& shape = out.shapes[i];
    std::uint64_t count = 1;
    for (const auto d : t.getShape()) {
      if (d < 0) return bad("negative dimension in its shape");
      if (d != 0 && count > (1ULL << 48) / static_cast<std::uint64_t>(d)) return bad("shape too large");
      count *= static_cast<std::uint64_t>(d);
      shape.push_back(d);
    }
    auto data = ep.peerView(lane, t.getOffset(), t.getSize());
    if (!data) return Failure{schema::ErrorCode::BAD_INPUT, "input '" + name + "': " + data.error().message};
    const auto type = static_cast<DataType>(dt);
    if (type != DataType::BYTES) {
      if (t.getSize() != count * elementSize(type))
        return bad("shape " + shapeText(shape) + " of " + std::string(toString(type)) + " needs " +
                   std::to_string(count * elementSize(type)) + " bytes, got " + std::to_string(t.getSize()));
    } else {
      const auto w = transport::walkBytes(data.value());
      if (w.stop == transport::BytesWalk::Stop::truncatedLength) return bad("BYTES data ends inside a length prefix");
      if (w.stop == transport::BytesWalk::Stop::pastEnd) return bad("a BYTES element runs past the tensor");
      if (w.count != count)
        return bad("shape " + shapeText(shape) + " needs " + std::to_string(count) + " elements, got " + std::to_string(w.count));
    }
    ringserve_tensor& rt = out.inputs[i];
    rt.name = str(t.getName());
    rt.datatype = dt;
    rt.rank = static_cast<std::uint32_t>(shape.size());
    rt.shape = shape.data();
    rt.data = data.value().data();
    rt.size = t.getSize();
    rt.parameters_json = str(t.getParametersJson());
  }
  for (auto o : req.getOutputs()) out.requested.push_back({str(o.getName()), str(o.getParametersJson())});
  out.raw.id = str(req.getId());
  out.raw.parameters_json = str(req.getParametersJson());
  out.raw.inputs = out.inputs.data();
  out.raw.input_count = static_cast<std::uint32_t>(out.inputs.size());
  out.raw.requested_outputs = out.requested.data();
  out.raw.requested_output_count = static_cast<std::uint32_t>(out.requested.size());
  return std::nullopt;
}

bool wanted(const DecodedRequest& req, const std::string& name) {
  if (req.requested.empty()) return true;
  for (const auto& r : req.requested)
    if (std::string_view(r.name.data, r.name.size) == name) return true;
  return false;
}

std::uint64_t nanosOf(std::chrono::steady_clock::duration d) {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
}

// What serving one request needs of the loop.
struct Served {
  transport::WorkerEndpoint& endpoint;
  ModelTable& models;
  const std::string& workerId;
};

void writeOk(schema::InferRequest::Reader req, const LoadedModel& model, const ringserve_call& call,
             const DecodedRequest& decoded, const OutputSink& sink, schema::InferResult::Builder ok);
std::optional<Failure> predictOne(const Served& at, schema::InferRequest::Reader req, std::uint32_t lane,
                                  schema::InferResponse::Builder response, OutputSink& sink, std::string& modelLabel);

// One request, read from its frame (transport's checked requestFrame; every field read under
// readGuarded, so a frame whose pointers lie is a bad input, never a crash), run, and its answer
// built into `response`. The model's label is set once the model is known, for the log line.
std::optional<Failure> readAndPredict(const Served& at, const Descriptor& d, std::uint32_t lane,
                                      schema::InferResponse::Builder response, OutputSink& sink,
                                      std::string& modelLabel) {
  auto reader = at.endpoint.requestFrame(lane, d);
  if (!reader) {
    if (d.kind != static_cast<std::uint32_t>(DescriptorKind::infer))
      return Failure{schema::ErrorCode::BAD_INPUT, "unknown descriptor kind " + std::to_string(d.kind)};
    return Failure{schema::ErrorCode::BAD_INPUT, "malformed request frame: " + reader.error().message};
  }
  auto root = reader.value().root<schema::InferRequest>();
  if (!root) return Failure{schema::ErrorCode::BAD_INPUT, "malformed request frame: " + root.error().message};
  auto done =
      transport::readGuarded([&] { return predictOne(at, root.value(), lane, response, sink, modelLabel); });
  if (!done) return Failure{schema::ErrorCode::BAD_INPUT, done.error().message};  // "malformed frame: ..."
  return std::move(done.value());
}

std::optional<Failure> predictOne(const Served& at, schema::InferRequest::Reader req, std::uint32_t lane,
                                  schema::InferResponse::Builder response, OutputSink& sink, std::string& modelLabel) {
  const std::shared_ptr<LoadedModel> model = at.models.find(req.getModelHandle());
  if (!model)
    return Failure{schema::ErrorCode::NOT_FOUND,
                   "model handle " + std::to_string(req.getModelHandle()) + " is not loaded in worker " + at.workerId};
  DecodedRequest decoded;
  if (auto f = decodeRequest(req, at.endpoint, lane, decoded)) return f;
  std::lock_guard busy(model->busy());
  modelLabel = model->label();
  if (!model->live()) return Failure{schema::ErrorCode::UNAVAILABLE, "model " + model->label() + " was unloaded"};
  ringserve_call call;
  call.outputs = &sink;
  // Timed once the model is ours: waiting for `busy` is queueing, not compute (statistics).
  const auto predictStart = std::chrono::steady_clock::now();
  const std::int32_t rc = model->predict(call, decoded.raw);
  const auto predictEnd = std::chrono::steady_clock::now();
  if (rc != RINGSERVE_OK) {
    const auto code = codeOf(call.errorCode != RINGSERVE_OK ? call.errorCode : rc);
    std::string msg = call.errorMessage.empty() ? "predict failed without a message" : call.errorMessage;
    if (code == schema::ErrorCode::INTERNAL && !model->python()) msg = model->implementation() + ": " + msg;
    return Failure{code, std::move(msg)};
  }
  if (auto bad = sink.verify()) return Failure{schema::ErrorCode::INTERNAL, model->implementation() + ": " + *bad};
  auto ok = response.initOk();
  writeOk(req, *model, call, decoded, sink, ok);
  ok.setPredictStartNs(nanosOf(predictStart.time_since_epoch()));
  ok.setPredictNs(nanosOf(predictEnd - predictStart));
  return std::nullopt;
}

void writeOk(schema::InferRequest::Reader req, const LoadedModel& model, const ringserve_call& call,
                        const DecodedRequest& decoded, const OutputSink& sink,
                        schema::InferResult::Builder ok) {
  ok.setModelName(text(model.name()));
  ok.setModelVersion(text(model.version()));
  ok.setId(req.getId());
  ok.setParametersJson(text(call.responseParameters));
  unsigned n = 0;
  for (const auto& o : sink.outputs()) n += wanted(decoded, o.name) ? 1 : 0;
  auto outs = ok.initOutputs(n);
  unsigned i = 0;
  for (const auto& o : sink.outputs()) {
    if (!wanted(decoded, o.name)) continue;
    auto t = outs[i++];
    t.setName(text(o.name));
    t.setDatatype(static_cast<schema::DataType>(o.datatype));
    auto shape = t.initShape(static_cast<unsigned>(o.shape.size()));
    for (unsigned k = 0; k < o.shape.size(); ++k) shape.set(k, o.shape[k]);
    t.setOffset(o.offset);
    t.setSize(o.size);
    t.setParametersJson(text(o.parametersJson));
  }
}

}  // namespace

bool InferLoop::run(const std::atomic<bool>& stop) {
  for (;;) {
    bool any = false;
    Descriptor d{};
    std::uint32_t lane = 0;
    for (;;) {
      auto r = endpoint_.next(d, lane);
      if (!r) {
        logError("", "request ring corrupt: {}", r.error().message);
        return false;
      }
      if (!r.value()) break;
      any = true;
      if (d.kind == static_cast<std::uint32_t>(DescriptorKind::release)) {
        release(d, lane);
        continue;
      }
      Answer a = serve(d, lane);
      if (!a.blocks.empty()) {
        auto& blocks = pending_[{lane, d.tag}];
        blocks.insert(blocks.end(), a.blocks.begin(), a.blocks.end());
      }
      a.descriptor.sent_ns = transport::monotonicNs();
      endpoint_.respond(lane, a.descriptor);
      endpoint_.recordProgress();
      served_.fetch_add(1, std::memory_order_relaxed);
    }
    if (any) {
      endpoint_.flush();
      continue;
    }
    if (stop.load(std::memory_order_acquire)) return true;
    endpoint_.wait(spinNs_, -1);
  }
}

void InferLoop::release(const Descriptor& d, std::uint32_t lane) {
  auto it = pending_.find({lane, d.tag});
  if (it == pending_.end()) return;  // an error answered without a frame, or a duplicate release
  for (const auto b : it->second) endpoint_.arena().free(b);
  pending_.erase(it);
}

InferLoop::Answer InferLoop::serve(const Descriptor& d, std::uint32_t lane) {
  Answer answer;
  answer.descriptor.kind = static_cast<std::uint32_t>(DescriptorKind::response);
  answer.descriptor.tag = d.tag;

  capnp::MallocMessageBuilder message(1024);
  auto response = message.initRoot<schema::InferResponse>();
  OutputSink sink(endpoint_);
  std::string modelLabel;
  if (auto failure = readAndPredict({endpoint_, models_, workerId_}, d, lane, response, sink, modelLabel)) {
    sink.freeAll();
    if (failure->code == schema::ErrorCode::INTERNAL) logWarn(modelLabel, "request failed: {}", failure->message);
    auto err = response.initError();
    err.setCode(failure->code);
    err.setMessage(text(failure->message));
  }
  const std::uint64_t size = transport::frameSize(message);
  auto block = endpoint_.arena().allocate(size);
  if (!block) {
    sink.freeAll();
    answer.descriptor.error_code = static_cast<std::uint32_t>(transport::DescriptorError::responseArenaFull);
    return answer;
  }
  transport::writeFrame(message, {endpoint_.at(block.value()), static_cast<std::size_t>(size)});
  answer.blocks = sink.blocks();
  answer.blocks.push_back(block.value());
  answer.descriptor.frame_offset = block.value();
  answer.descriptor.frame_size = size;
  return answer;
}

}  // namespace ringserve::worker
