#include "supervisor/grpc/infer_calls.hpp"

#include <spdlog/spdlog.h>

#include <cctype>
#include <chrono>
#include <map>
#include <mutex>
#include <utility>

#include "supervisor/grpc/infer_codec.hpp"
#include "supervisor/grpc/status.hpp"

namespace ringserve::supervisor::grpcfe {

namespace {

constexpr const char* kInference = "inference.GRPCInferenceService";
using Headers = std::vector<std::pair<std::string, std::string>>;

// One request's answer, handed from the loop thread that ran it to whoever answers the call.
struct Outcome {
  grpc::Status status;
  std::unique_ptr<inference::ModelInferResponse> response;  // set when the status is OK
  Headers trailers;
};
using Deliver = std::function<void(Outcome)>;

// gRPC metadata as the request's headers (parameters.headers): all of it but pseudo-headers,
// gRPC's own `grpc-*` entries and binary `-bin` ones.
Headers metadataHeaders(const grpc::CallbackServerContext& call) {
  Headers out;
  for (const auto& [k, v] : call.client_metadata()) {
    const std::string_view key(k.data(), k.size());
    if (key.empty() || key.front() == ':' || key.starts_with("grpc-") || key.ends_with("-bin")) continue;
    out.emplace_back(std::string(key), std::string(v.data(), v.size()));
  }
  return out;
}

bool metadataKey(std::string_view k) {
  if (k.empty() || k.starts_with("grpc-") || k.ends_with("-bin")) return false;
  for (char c : k)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.')) return false;
  return true;
}

bool metadataValue(std::string_view v) {
  for (char c : v)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}

// Response headers as trailing metadata: names lower-cased (gRPC refuses others); a name or value
// gRPC cannot carry is dropped with a warning, as REST drops what HTTP cannot.
Headers trailersOf(const Headers& headers, const std::string& model) {
  Headers out;
  for (const auto& [k, v] : headers) {
    std::string key = k;
    for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!metadataKey(key) || !metadataValue(v)) {
      spdlog::warn("model {}: response header '{}' dropped: not valid as gRPC metadata", model, key);
      continue;
    }
    out.emplace_back(std::move(key), v);
  }
  return out;
}

// The client's gRPC deadline on the loops' clock; none when it set none.
std::optional<dispatch::Clock::time_point> deadlineOf(const grpc::CallbackServerContext& call) {
  const auto due = call.deadline();
  const auto now = std::chrono::system_clock::now();
  if (due - now > std::chrono::hours(24 * 365)) return std::nullopt;
  return dispatch::Clock::now() + std::chrono::duration_cast<dispatch::Clock::duration>(due - now);
}

// The inference path's answer for one request, encoded as ModelInferResponse (ResultEncoding), then
// delivered. Loop thread only. Delivers exactly once: a writer destroyed unanswered (its posted
// work dropped at shutdown) answers UNAVAILABLE.
class InferWriter final : public dispatch::ResponseWriter, public dispatch::ResultEncoding {
 public:
  InferWriter(ServiceContext& ctx, bool raw, std::string model, Deliver deliver)
      : ctx_(ctx),
        raw_(raw),
        model_(std::move(model)),
        deliver_(std::move(deliver)),
        response_(std::make_unique<inference::ModelInferResponse>()) {}
  ~InferWriter() override {
    if (deliver_) deliver({{grpc::StatusCode::UNAVAILABLE, "the server is shutting down"}, nullptr, {}});
  }

  codec::OutputSink& body() override { return unused_; }
  dispatch::ResultEncoding* encoding() override { return this; }
  Expected<std::uint64_t> encode(const codec::PlannedResult& result) override {
    return encodeInferResponse(result, raw_, ctx_.maxMessageLength, *response_);
  }
  void finish(const dispatch::ResponseHead& head, std::shared_ptr<void>) override {
    deliver({grpc::Status::OK, std::move(response_), trailersOf(head.headers, model_)});
  }
  void fail(const Error& failure) override { deliver({toStatus(failure), nullptr, {}}); }

 private:
  void deliver(Outcome o) { std::exchange(deliver_, nullptr)(std::move(o)); }

  ServiceContext& ctx_;
  bool raw_;
  std::string model_;
  Deliver deliver_;
  std::unique_ptr<inference::ModelInferResponse> response_;
  codec::StringSink unused_;  // body(): never written (encoding() is set)
};

// Posts one request to the next HTTP loop. `request` stays valid until `deliver` has run (its
// owner frees it only then); it is decoded into the arena on that loop.
void dispatchOnLoop(ServiceContext& ctx, const inference::ModelInferRequest* request,
                    const grpc::CallbackServerContext& call, const char* method, Deliver deliver) {
  dispatch::RequestInfo info;
  info.model = request->model_name();
  info.version = request->model_version();
  info.headers = metadataHeaders(call);
  info.deadline = deadlineOf(call);
  const bool raw = request->raw_input_contents_size() > 0;
  dispatch::Dispatcher* d =
      ctx.dispatchers[ctx.nextLoop.fetch_add(1, std::memory_order_relaxed) % ctx.dispatchers.size()];
  if (ctx.settings.debug) {
    // The access log, as REST's (`debug`): method, model, code and time of each request.
    deliver = [inner = std::move(deliver), method, model = info.model, t0 = info.received](Outcome o) {
      spdlog::debug("gRPC {} {} {} {:.3f} ms", method, model, codeName(o.status.error_code()),
                    std::chrono::duration<double, std::milli>(dispatch::Clock::now() - t0).count());
      inner(std::move(o));
    };
  }
  // EventLoop::post takes a copyable function: the writer rides in a shared holder.
  auto writer = std::make_shared<std::unique_ptr<dispatch::ResponseWriter>>(
      std::make_unique<InferWriter>(ctx, raw, info.model, std::move(deliver)));
  d->loop().post([d, request, info = std::move(info), writer]() mutable {
    const InferRequestSource source(*request);
    d->infer(std::move(info), dispatch::RequestBody{nullptr, {}, &source}, std::move(*writer));
  });
}

}  // namespace

grpc::ServerUnaryReactor* modelInfer(ServiceContext& ctx, grpc::CallbackServerContext* call,
                                     const inference::ModelInferRequest* request,
                                     inference::ModelInferResponse* response) {
  const Rpc rpc{kInference, "ModelInfer"};
  countStarted(ctx, rpc);
  auto* reactor = call->DefaultReactor();
  // gRPC keeps request, response and call until Finish.
  dispatchOnLoop(ctx, request, *call, rpc.method, [&ctx, call, reactor, response, rpc](Outcome o) {
    for (const auto& [k, v] : o.trailers) call->AddTrailingMetadata(k, v);
    if (o.response) response->Swap(o.response.get());
    countHandled(ctx, rpc, o.status.error_code());
    reactor->Finish(o.status);
  });
  return reactor;
}

namespace {

// ModelStreamInfer. Requests are read one after another and each is dispatched as soon as it is
// read (so a stream pipelines), at most kWindow unanswered at a time (reading pauses beyond: a
// client cannot fill the arena or memory through one stream). Answers are written in request
// order, one write at a time. The first failure (in order) ends the stream with its status;
// answers after it are dropped.
//
// Threads: gRPC calls the On* methods; answers arrive on HTTP loop threads. Everything is under
// `mu`; the reactor is touched only while the stream is not finished, and gRPC deletes it (OnDone)
// only after Finish, so late answers find `finished` and touch nothing but the shared state.
class StreamReactor final
    : public grpc::ServerBidiReactor<inference::ModelInferRequest, inference::ModelInferResponse> {
 public:
  static constexpr std::size_t kWindow = 16;

  StreamReactor(ServiceContext& ctx, grpc::CallbackServerContext* call) : state_(std::make_shared<State>(ctx, call)) {
    state_->reactor = this;
    countStarted(ctx, rpc());
    std::lock_guard lock(state_->mu);
    state_->startRead();
  }

  void OnReadDone(bool ok) override {
    std::lock_guard lock(state_->mu);
    state_->readDone(ok);
  }
  void OnWriteDone(bool ok) override {
    std::lock_guard lock(state_->mu);
    state_->writeDone(ok);
  }
  void OnCancel() override {
    std::lock_guard lock(state_->mu);
    state_->end({grpc::StatusCode::CANCELLED, "the call was cancelled"});
  }
  void OnDone() override { delete this; }

  static Rpc rpc() { return {kInference, "ModelStreamInfer", "BIDI_STREAMING"}; }

 private:
  struct State : std::enable_shared_from_this<State> {
    State(ServiceContext& c, grpc::CallbackServerContext* k) : ctx(c), call(k) {}
    ServiceContext& ctx;
    grpc::CallbackServerContext* call;
    StreamReactor* reactor = nullptr;
    std::mutex mu;
    std::unique_ptr<inference::ModelInferRequest> reading;  // the message of the read in progress
    std::map<std::uint64_t, std::unique_ptr<inference::ModelInferRequest>> requests;  // until answered
    std::map<std::uint64_t, Outcome> answered;  // waiting for their turn to be written
    std::unique_ptr<inference::ModelInferResponse> writing;
    std::uint64_t nextSeq = 0, nextWrite = 0;
    bool readPending = false, readsDone = false, writePending = false, finished = false;
    std::optional<grpc::Status> ending;  // set once the stream is to end; Finish waits for the write

    std::size_t unanswered() const { return nextSeq - nextWrite; }

    void startRead() {
      if (finished || ending || readsDone || readPending || unanswered() >= kWindow) return;
      reading = std::make_unique<inference::ModelInferRequest>();
      readPending = true;
      reactor->StartRead(reading.get());
    }

    void readDone(bool ok) {
      readPending = false;
      if (!ok) {
        readsDone = true;  // the client half-closed (or the call is over)
        return pump();
      }
      if (finished || ending) return;
      const std::uint64_t seq = nextSeq++;
      const auto* request = (requests[seq] = std::move(reading)).get();
      dispatchOnLoop(ctx, request, *call, "ModelStreamInfer", [self = shared_from_this(), seq](Outcome o) {
        std::lock_guard lock(self->mu);
        self->requests.erase(seq);
        self->answered.emplace(seq, std::move(o));
        self->pump();
      });
      startRead();
    }

    void writeDone(bool ok) {
      writePending = false;
      writing.reset();
      if (!ok) {
        if (!ending) ending = grpc::Status(grpc::StatusCode::CANCELLED, "the stream was closed");
        return pump();
      }
      ++nextWrite;
      startRead();
      pump();
    }

    // Writes the next answer in order, or ends the stream when it is due.
    void pump() {
      if (finished || writePending) return;
      if (!ending) {
        auto it = answered.find(nextWrite);
        if (it != answered.end()) {
          Outcome o = std::move(it->second);
          answered.erase(it);
          if (!o.status.ok()) return end(o.status);
          writing = std::move(o.response);
          writePending = true;
          reactor->StartWrite(writing.get());
          return;
        }
        if (!readsDone || unanswered() > 0) return;
        ending = grpc::Status::OK;
      }
      finished = true;
      countHandled(ctx, rpc(), ending->error_code());
      reactor->Finish(*ending);
    }

    void end(grpc::Status status) {
      if (finished || ending) return;
      ending = std::move(status);
      pump();
    }
  };

  std::shared_ptr<State> state_;
};

}  // namespace

grpc::ServerBidiReactor<inference::ModelInferRequest, inference::ModelInferResponse>* modelStreamInfer(
    ServiceContext& ctx, grpc::CallbackServerContext* call) {
  return new StreamReactor(ctx, call);
}

}  // namespace ringserve::supervisor::grpcfe
