#include "supervisor/dispatch/dispatcher.hpp"

#include <spdlog/spdlog.h>
#include <strings.h>

#include <algorithm>

#include "supervisor/codec/cloud_events.hpp"
#include "supervisor/codec/gzip.hpp"
#include "supervisor/codec/request_frame.hpp"
#include "supervisor/core/request_arena.hpp"
#include "supervisor/core/server_core.hpp"
#include "supervisor/dispatch/batch_rules.hpp"
#include "supervisor/dispatch/batcher.hpp"
#include "supervisor/dispatch/call.hpp"
#include "supervisor/dispatch/target.hpp"
#include "supervisor/event.hpp"
#include "supervisor/worker_error.hpp"
#include "transport/frame.hpp"

namespace ringserve::supervisor::dispatch {

Models modelsOf(ServerCore& core) {
  return {[&core] { return core.routing(); },
          [&core](std::shared_ptr<WorkerLink> link, std::uint64_t progress) {
            core.reportTimeout(std::move(link), progress);
          }};
}

namespace {

// Counts the spans handed over by reference: only then must the response blocks outlive the
// completion (otherwise they are released at once).
class CountingSink final : public codec::OutputSink {
 public:
  explicit CountingSink(codec::OutputSink& inner) : inner_(inner) {}
  void appendCopy(std::string_view bytes) override { inner_.appendCopy(bytes); }
  void appendReference(std::span<const std::byte> bytes) override {
    ++references_;
    inner_.appendReference(bytes);
  }
  std::size_t references() const { return references_; }

 private:
  codec::OutputSink& inner_;
  std::size_t references_ = 0;
};

// Triton's phases of one successful request. A worker of protocol 1.0 reports no predict timing:
// its queue is then 0 and compute_infer runs from submission to the completion.
PhaseTimes phasesOf(const Dispatcher::Call& call, schema::InferResult::Reader ok, Clock::time_point encoded) {
  PhaseTimes t;
  t.executions = call.executions;
  t.total = nanosBetween(call.received, Clock::now());
  t.computeInput = call.inputNs;
  t.computeOutput = nanosBetween(call.completed, encoded);
  t.batchSize = call.batchSize;
  const auto submittedNs = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(call.submitted.time_since_epoch()).count());
  if (ok.getPredictStartNs() == 0) {
    t.computeInfer = nanosBetween(call.submitted, call.completed);
  } else {
    t.queue = ok.getPredictStartNs() > submittedNs ? ok.getPredictStartNs() - submittedNs : 0;
    t.computeInfer = ok.getPredictNs();
  }
  return t;
}

// The runtime's headers, then MLServer's CloudEvents headers the runtime did not set itself.
std::vector<std::pair<std::string, std::string>> responseHeaders(
    std::vector<std::pair<std::string, std::string>> headers, std::string_view serverName, std::string_view modelName,
    std::string_view requestId) {
  const std::size_t fromRuntime = headers.size();
  for (auto& [k, v] : codec::cloudEventsHeaders(serverName, modelName, requestId, true)) {
    const auto end = headers.begin() + static_cast<std::ptrdiff_t>(fromRuntime);
    const bool set =
        std::any_of(headers.begin(), end, [&](const auto& h) { return ::strcasecmp(h.first.c_str(), k.c_str()) == 0; });
    if (!set) headers.emplace_back(std::move(k), std::move(v));
  }
  return headers;
}

// inference_count's share of a request: Triton counts the batch dimension of a batching model.
std::uint64_t batchSizeOf(const settings::ModelSettings& s, const codec::DecodedRequest& r) {
  if (s.maxBatchSize <= 0 || r.inputs.empty() || r.inputs[0].shape.empty() || r.inputs[0].shape[0] < 1) return 1;
  return static_cast<std::uint64_t>(r.inputs[0].shape[0]);
}

}  // namespace

Dispatcher::Dispatcher(Options options, Models models, EventLoop& loop, LoopLanes& lanes, MetricsRegistry& metrics)
    : options_(std::move(options)),
      models_(std::move(models)),
      loop_(loop),
      lanes_(lanes),
      batcher_(std::make_unique<Batcher>(*this, loop, lanes)),
      parallelQueue_(&metrics.histogram("parallel_request_queue",
                                        "Requests in flight on the worker an inference request is dispatched to.", {},
                                        queueBuckets())) {}

Dispatcher::~Dispatcher() = default;

void Dispatcher::infer(RequestInfo info, const RequestBody& body, std::unique_ptr<ResponseWriter> writer) {
  auto table = models_.routing();
  auto found = findModel(*table, info.model, info.version);
  if (!found) return writer->fail(found.error());
  auto call = std::make_shared<Call>();
  call->dispatcher = this;
  call->writer = std::move(writer);
  call->model = std::move(found.value());
  call->received = info.received;
  InFlightHold inFlight(call->model->counters->inFlight);
  const auto& settings = *call->model->settings;
  const bool batching = settings.batching();
  auto target =
      batching ? batcher_->target(*call->model, info.version) : chooseWorker(*call->model, info.version, lanes_);
  if (!target) return fail(*call, target.error());
  parallelQueue_->observe(target->queued + 1);
  const auto deadline = info.deadline;
  RequestArena arena(*target->lane);
  auto decoded = decode(*call, info, body, arena);
  if (!decoded) return fail(*call, decoded.error());
  const auto rows = batching ? rowsOf(decoded.value()) : std::nullopt;
  if (rows && *rows <= static_cast<std::uint64_t>(settings.maxBatchSize)) {
    inFlight.release();  // the batch ends it
    armDeadline(call, deadline);
    return batcher_->join(call, std::move(decoded.value()), std::move(arena), *rows, target.value());
  }
  auto tag = submitOne(call, decoded.value(), arena, *target->route, *target->lane);
  if (!tag) return fail(*call, tag.error());
  inFlight.release();  // the completion ends it
  armDeadline(call, deadline);
}

// The body (inflated when gzip) decoded into `arena` (on the chosen worker's lane). On failure
// the arena frees every block it handed out.
BasicResult<codec::DecodedRequest, Error> Dispatcher::decode(Call& call, RequestInfo& info, const RequestBody& body,
                                                             RequestArena& arena) {
  const auto decodeStart = Clock::now();
  const codec::BodySource* bytes = body.bytes;
  std::string inflated;
  codec::ContiguousBody inflatedBody{std::string_view()};
  if (body.source == nullptr && body.contentEncoding.find("gzip") != std::string_view::npos) {
    std::string compressed(bytes->size(), '\0');
    bytes->copyOut(0, std::as_writable_bytes(std::span(compressed)));
    auto r = codec::gzipDecompress(compressed, options_.maxRequestSize);
    if (!r) return r.error();
    inflated = std::move(r.value());
    inflatedBody = codec::ContiguousBody(inflated);
    bytes = &inflatedBody;
  }
  codec::RequestInfo decodeInfo;
  decodeInfo.modelName = info.model;
  decodeInfo.headers = std::move(info.headers);
  decodeInfo.declaredInputs = &call.model->settings->inputs;
  auto decoded =
      body.source != nullptr ? body.source->decode(decodeInfo, arena) : decoder_.decode(*bytes, decodeInfo, arena);
  if (!decoded) return decoded.error();
  if (decoded->clientHeadersOverwritten)
    spdlog::warn("model {}: request {} set parameters.headers; replaced by the HTTP headers", info.model, decoded->id);
  call.format = decoded->responseFormat();
  call.batchSize = batchSizeOf(*call.model->settings, decoded.value());
  call.link = arena.lane().link();
  call.progressAtSend = call.link->shm->progress();
  call.submitted = Clock::now();
  call.inputNs = nanosBetween(decodeStart, call.submitted);
  return std::move(decoded.value());
}

// The InferRequest frame beside the request's tensors and the submission; `arena`'s blocks (the
// tensors and the frame) are the lane's from here on, or freed by the arena on failure.
BasicResult<std::uint64_t, Error> Dispatcher::submitOne(const std::shared_ptr<Call>& call,
                                                        const codec::DecodedRequest& request, RequestArena& arena,
                                                        const RouteTarget& route, LaneClient& lane,
                                                        std::shared_ptr<const void> keep) {
  auto frame = codec::writeRequestFrame(request, route.handle, arena);
  if (!frame) return frame.error();
  call->progressAtSend = call->link->shm->progress();
  call->sent = true;
  auto tag = lane.submit(frame->offset, frame->size, arena.take(), [call, keep = std::move(keep)](Completion& c) {
    call->dispatcher->complete(*call, c);
    call->dispatcher->batcher_->workerAnswered(*c.lane);
  });
  if (!tag) return tag.error();
  return tag.value();
}

bool Dispatcher::settle(Call& call) {
  call.model->counters->inFlight.fetch_sub(1, std::memory_order_relaxed);
  call.timer.reset();
  return call.writer != nullptr;  // null: the deadline answered first
}

void Dispatcher::complete(Call& call, Completion& c) {
  if (!settle(call)) return;
  if (c.error) return fail(call, *c.error);
  // Guarded: reading a worker's frame may still throw (transport/frame.hpp); the request is
  // answered whatever the frame holds.
  auto read = transport::readGuarded([&] {
    auto resp = *c.response;
    if (resp.isError()) {
      auto err = resp.getError();
      fail(call, errorFromWorker(err.getCode(), err.getMessage().cStr()));
      return 0;
    }
    call.completed = Clock::now();
    answer(call, c, resp.getOk());
    return 0;
  });
  if (!read && call.writer)
    fail(call,
         {ErrorKind::internal, "worker " + call.link->id + " sent a malformed response: " + read.error().message});
}

void Dispatcher::abort(Call& call, const Error& failure) {
  if (settle(call)) fail(call, failure);
}

void Dispatcher::answer(Call& call, Completion& c, schema::InferResult::Reader result) {
  const auto& model = *call.model;
  if (auto* own = call.writer->encoding()) return answerWith(call, c, result, *own);
  CountingSink sink(call.writer->body());
  auto encoded = encoder_.encode(
      result, [&c](std::uint64_t off, std::uint64_t size) { return c.outputBytes(off, size); }, call.format, model.name,
      model.version, sink);
  if (!encoded) return fail(call, encoded.error());
  const auto encodedAt = Clock::now();
  for (const auto& w : encoded->warnings) spdlog::warn("model {}: {}", model.name, w);
  ResponseHead head;
  head.headers = responseHeaders(std::move(encoded->headers), options_.serverName, model.name, call.format.requestId);
  head.inferenceHeaderContentLength = encoded->inferenceHeaderContentLength;
  head.bodyBytes = encoded->bodyBytes;
  // Binary outputs were handed over by reference into the response arena: its blocks stay
  // allocated until the writer drops this handle (shared by every member of a batch).
  std::shared_ptr<void> keepAlive = sink.references() > 0 ? c.retain() : nullptr;
  countSuccess(call, result, encodedAt);
  std::exchange(call.writer, nullptr)->finish(head, std::move(keepAlive));
}

// The same result in the front end's own format: checked and taken apart by the encoder, then
// copied out by the front end, so the response blocks are released at once.
void Dispatcher::answerWith(Call& call, Completion& c, schema::InferResult::Reader result, ResultEncoding& encoding) {
  const auto& model = *call.model;
  auto planned = encoder_.plan(
      result, [&c](std::uint64_t off, std::uint64_t size) { return c.outputBytes(off, size); }, call.format, model.name,
      model.version);
  if (!planned) return fail(call, planned.error());
  for (const auto& w : planned->response.warnings) spdlog::warn("model {}: {}", model.name, w);
  auto bytes = encoding.encode(planned.value());
  if (!bytes) return fail(call, bytes.error());
  const auto encodedAt = Clock::now();
  ResponseHead head;
  head.headers =
      responseHeaders(std::move(planned->response.headers), options_.serverName, model.name, call.format.requestId);
  head.bodyBytes = bytes.value();
  countSuccess(call, result, encodedAt);
  std::exchange(call.writer, nullptr)->finish(head, nullptr);
}

// Before the answer leaves: a client that has its answer (and asks for the statistics on another
// loop or over gRPC) must find it counted.
void Dispatcher::countSuccess(Call& call, schema::InferResult::Reader result, Clock::time_point encodedAt) {
  const auto& counters = *call.model->counters;
  counters.success->inc();
  counters.duration->observe(std::chrono::duration<double>(Clock::now() - call.received).count());
  call.model->counters->stats.recordSuccess(phasesOf(call, result, encodedAt));
}

void Dispatcher::armDeadline(const std::shared_ptr<Call>& call, std::optional<Clock::time_point> deadline) {
  const auto now = Clock::now();
  std::optional<Clock::time_point> due;
  if (options_.requestTimeout) {
    due = now + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(*options_.requestTimeout));
    call->deadlineIsRequestTimeout = true;
  }
  if (deadline && (!due || *deadline < *due)) {
    due = deadline;
    call->deadlineIsRequestTimeout = false;
  }
  if (!due) return;
  call->timer = Event::timer(
      loop_.base(),
      [](evutil_socket_t, short, void* arg) {
        auto* c = static_cast<Call*>(arg);
        c->dispatcher->expire(*c);
      },
      call.get());
  call->timer.add(std::chrono::duration_cast<std::chrono::microseconds>(*due - now));
}

void Dispatcher::expire(Call& call) {
  call.timer.reset();  // inside its own callback: libevent allows it
  if (!call.writer) return;
  // The worker's late answer is dropped (its blocks are still freed when it arrives).
  const std::string& name = call.model->name;
  if (!call.deadlineIsRequestTimeout) {
    fail(call, {ErrorKind::timeout,
                "Model " + name + " did not answer before the request's deadline on worker " + call.link->id});
    return;
  }
  fail(call, {ErrorKind::timeout, "Model " + name + " did not answer within request_timeout (" +
                                      std::to_string(*options_.requestTimeout) + " s) on worker " + call.link->id});
  // A batch member still waiting in the batcher never reached the worker: nothing to suspect.
  if (call.sent) models_.reportTimeout(call.link, call.progressAtSend);
}

void Dispatcher::fail(Call& call, const Error& failure) {
  call.model->counters->failure->inc();
  call.model->counters->stats.recordFailure(nanosBetween(call.received, Clock::now()));
  std::exchange(call.writer, nullptr)->fail(failure);
}

}  // namespace ringserve::supervisor::dispatch
