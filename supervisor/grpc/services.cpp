#include "supervisor/grpc/services.hpp"

#include <simdjson.h>

#include <atomic>
#include <string>
#include <string_view>

#include "dataplane.grpc.pb.h"
#include "model_repository.grpc.pb.h"
#include "supervisor/dispatch/target.hpp"
#include "supervisor/grpc/infer_calls.hpp"
#include "supervisor/grpc/infer_codec.hpp"
#include "supervisor/grpc/parameters.hpp"
#include "supervisor/grpc/status.hpp"
#include "supervisor/grpc/triton_extensions.hpp"

namespace ringserve::supervisor::grpcfe {

namespace {

Labels rpcLabels(const Rpc& rpc) {
  return {{"grpc_service", rpc.service}, {"grpc_method", rpc.method}, {"grpc_type", rpc.type}};
}

}  // namespace

void countStarted(ServiceContext& ctx, const Rpc& rpc) {
  ctx.metrics.counter("grpc_server_started_total", "RPCs started on the server.", rpcLabels(rpc)).inc();
}

void countHandled(ServiceContext& ctx, const Rpc& rpc, grpc::StatusCode code) {
  auto labels = rpcLabels(rpc);
  labels.emplace_back("grpc_code", codeName(code));
  ctx.metrics.counter("grpc_server_handled_total", "RPCs completed on the server, by status code.", labels).inc();
}

namespace {

constexpr const char* kInference = "inference.GRPCInferenceService";
constexpr const char* kRepository = "inference.model_repository.ModelRepositoryService";

// A response larger than grpc_max_message_length is refused here, naming the setting (gRPC's own
// send limit would fail it with a message that does not).
grpc::Status checkSize(ServiceContext& ctx, const google::protobuf::Message& response) {
  const std::uint64_t n = response.ByteSizeLong();
  if (n <= ctx.maxMessageLength) return grpc::Status::OK;
  return toStatus(responseTooLarge(n, ctx.maxMessageLength));
}

// Answers a unary RPC that is complete when its handler returns.
grpc::ServerUnaryReactor* answer(ServiceContext& ctx, grpc::CallbackServerContext* call, const Rpc& rpc,
                                 grpc::Status status, const google::protobuf::Message* response = nullptr) {
  if (status.ok() && response != nullptr) status = checkSize(ctx, *response);
  countHandled(ctx, rpc, status.error_code());
  auto* reactor = call->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

// A unary RPC answered later, from another thread (a repository operation finishing on the main
// loop). The one answer is whichever comes first: the operation's, or the cancellation gRPC reports
// when the client goes away or the server's shutdown deadline passes. gRPC deletes the reactor
// only after Finish (OnDone), so the operation's callback checks the shared flag before touching it.
class DeferredReactor final : public grpc::ServerUnaryReactor {
 public:
  struct State {
    std::atomic<bool> answered{false};
  };
  DeferredReactor(ServiceContext& ctx, Rpc rpc) : ctx_(ctx), rpc_(rpc), state_(std::make_shared<State>()) {}

  // The operation's answer: any thread, at most once, ignored after a cancellation.
  static void answerLater(const std::shared_ptr<State>& state, DeferredReactor* self, const grpc::Status& status) {
    if (!state->answered.exchange(true)) self->finishNow(status);
  }
  std::shared_ptr<State> state() const { return state_; }

  void OnCancel() override {
    answerLater(state_, this, {grpc::StatusCode::CANCELLED, "the call was cancelled"});
  }
  void OnDone() override { delete this; }

 private:
  void finishNow(const grpc::Status& status) {
    countHandled(ctx_, rpc_, status.error_code());
    Finish(status);
  }
  ServiceContext& ctx_;
  Rpc rpc_;
  std::shared_ptr<State> state_;
};

// ---- model metadata: the REST body (ModelRoute::metadataJson) read back into the message, so both
// front ends answer alike.

void setTensors(google::protobuf::RepeatedPtrField<inference::ModelMetadataResponse::TensorMetadata>& out,
                simdjson::dom::element arr) {
  simdjson::dom::array a;
  if (arr.get_array().get(a) != simdjson::SUCCESS) return;
  for (auto t : a) {
    auto* m = out.Add();
    std::string_view s;
    if (t["name"].get_string().get(s) == simdjson::SUCCESS) m->set_name(std::string(s));
    if (t["datatype"].get_string().get(s) == simdjson::SUCCESS) m->set_datatype(std::string(s));
    simdjson::dom::array shape;
    if (t["shape"].get_array().get(shape) == simdjson::SUCCESS)
      for (auto d : shape) {
        std::int64_t n = 0;
        if (d.get_int64().get(n) == simdjson::SUCCESS) m->add_shape(n);
      }
    simdjson::dom::element params;
    if (t["parameters"].get(params) == simdjson::SUCCESS) setParameters(*m->mutable_parameters(), params);
  }
}

grpc::Status metadataFromJson(const std::string& json, inference::ModelMetadataResponse& out) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json).get(doc) != simdjson::SUCCESS)
    return {grpc::StatusCode::INTERNAL, "model metadata is not JSON"};  // built by codec/v2_bodies
  std::string_view s;
  if (doc["name"].get_string().get(s) == simdjson::SUCCESS) out.set_name(std::string(s));
  if (doc["platform"].get_string().get(s) == simdjson::SUCCESS) out.set_platform(std::string(s));
  simdjson::dom::array versions;
  if (doc["versions"].get_array().get(versions) == simdjson::SUCCESS)
    for (auto v : versions)
      if (v.get_string().get(s) == simdjson::SUCCESS) out.add_versions(std::string(s));
  simdjson::dom::element e;
  if (doc["inputs"].get(e) == simdjson::SUCCESS) setTensors(*out.mutable_inputs(), e);
  if (doc["outputs"].get(e) == simdjson::SUCCESS) setTensors(*out.mutable_outputs(), e);
  if (doc["parameters"].get(e) == simdjson::SUCCESS) setParameters(*out.mutable_parameters(), e);
  return grpc::Status::OK;
}

// ---- the repository extension, shared by both service spellings (same field names and numbers).

template <class Request, class Response>
grpc::ServerUnaryReactor* repositoryIndex(ServiceContext& ctx, grpc::CallbackServerContext* call, const Rpc& rpc,
                                          const Request& req, Response& resp) {
  countStarted(ctx, rpc);
  // `ready` has no presence in proto3: true lists only READY entries (REST's {"ready": true}),
  // false lists all (REST's empty body), as Triton defines it.
  for (const auto& e : ctx.core.index()) {
    if (req.ready() && e.state != ModelState::ready) continue;
    auto* m = resp.add_models();
    m->set_name(e.name);
    m->set_version(e.version);
    m->set_state(toString(e.state));
    m->set_reason(e.reason);
  }
  return answer(ctx, call, rpc, grpc::Status::OK, &resp);
}

template <class Request>
grpc::ServerUnaryReactor* repositoryChange(ServiceContext& ctx, const Rpc& rpc, const Request& req, bool load) {
  countStarted(ctx, rpc);
  auto* reactor = new DeferredReactor(ctx, rpc);
  auto done = [state = reactor->state(), reactor](Expected<std::string> r) {
    DeferredReactor::answerLater(state, reactor, r ? grpc::Status::OK : toStatus(r.error()));
  };
  if (load)
    ctx.core.repositoryLoad(req.model_name(), std::move(done));
  else
    ctx.core.repositoryUnload(req.model_name(), std::move(done));
  return reactor;
}

class InferenceService final : public inference::GRPCInferenceService::CallbackService {
 public:
  explicit InferenceService(ServiceContext& ctx) : ctx_(ctx) {}

  grpc::ServerUnaryReactor* ServerLive(grpc::CallbackServerContext* call, const inference::ServerLiveRequest*,
                                       inference::ServerLiveResponse* resp) override {
    const Rpc rpc{kInference, "ServerLive"};
    countStarted(ctx_, rpc);
    resp->set_live(true);
    return answer(ctx_, call, rpc, grpc::Status::OK);
  }

  grpc::ServerUnaryReactor* ServerReady(grpc::CallbackServerContext* call, const inference::ServerReadyRequest*,
                                        inference::ServerReadyResponse* resp) override {
    const Rpc rpc{kInference, "ServerReady"};
    countStarted(ctx_, rpc);
    resp->set_ready(ctx_.core.routing()->allReady);  // REST: 200 or 400; gRPC: OK with the flag
    return answer(ctx_, call, rpc, grpc::Status::OK);
  }

  grpc::ServerUnaryReactor* ModelReady(grpc::CallbackServerContext* call, const inference::ModelReadyRequest* req,
                                       inference::ModelReadyResponse* resp) override {
    const Rpc rpc{kInference, "ModelReady"};
    countStarted(ctx_, rpc);
    auto m = dispatch::findModel(*ctx_.core.routing(), req->name(), req->version());
    if (!m) return answer(ctx_, call, rpc, toStatus(m.error()));
    resp->set_ready((*m)->state == ModelState::ready);
    return answer(ctx_, call, rpc, grpc::Status::OK);
  }

  grpc::ServerUnaryReactor* ServerMetadata(grpc::CallbackServerContext* call, const inference::ServerMetadataRequest*,
                                           inference::ServerMetadataResponse* resp) override {
    const Rpc rpc{kInference, "ServerMetadata"};
    countStarted(ctx_, rpc);
    resp->set_name(ctx_.settings.serverName);
    resp->set_version(ctx_.settings.serverVersion);
    for (const auto& e : ctx_.settings.extensions) resp->add_extensions(e);
    return answer(ctx_, call, rpc, grpc::Status::OK, resp);
  }

  grpc::ServerUnaryReactor* ModelMetadata(grpc::CallbackServerContext* call, const inference::ModelMetadataRequest* req,
                                          inference::ModelMetadataResponse* resp) override {
    const Rpc rpc{kInference, "ModelMetadata"};
    countStarted(ctx_, rpc);
    auto m = dispatch::findModel(*ctx_.core.routing(), req->name(), req->version());
    if (!m) return answer(ctx_, call, rpc, toStatus(m.error()));
    return answer(ctx_, call, rpc, metadataFromJson((*m)->metadataJson, *resp), resp);
  }

  grpc::ServerUnaryReactor* RepositoryIndex(grpc::CallbackServerContext* call,
                                            const inference::RepositoryIndexRequest* req,
                                            inference::RepositoryIndexResponse* resp) override {
    return repositoryIndex(ctx_, call, {kInference, "RepositoryIndex"}, *req, *resp);
  }
  grpc::ServerUnaryReactor* RepositoryModelLoad(grpc::CallbackServerContext*,
                                                const inference::RepositoryModelLoadRequest* req,
                                                inference::RepositoryModelLoadResponse*) override {
    return repositoryChange(ctx_, {kInference, "RepositoryModelLoad"}, *req, true);
  }
  grpc::ServerUnaryReactor* RepositoryModelUnload(grpc::CallbackServerContext*,
                                                  const inference::RepositoryModelUnloadRequest* req,
                                                  inference::RepositoryModelUnloadResponse*) override {
    return repositoryChange(ctx_, {kInference, "RepositoryModelUnload"}, *req, false);
  }

  grpc::ServerUnaryReactor* ModelInfer(grpc::CallbackServerContext* call, const inference::ModelInferRequest* req,
                                       inference::ModelInferResponse* resp) override {
    return modelInfer(ctx_, call, req, resp);
  }
  grpc::ServerBidiReactor<inference::ModelInferRequest, inference::ModelInferResponse>* ModelStreamInfer(
      grpc::CallbackServerContext* call) override {
    return modelStreamInfer(ctx_, call);
  }
  grpc::ServerUnaryReactor* ModelConfig(grpc::CallbackServerContext* call, const inference::ModelConfigRequest* req,
                                        inference::ModelConfigResponse* resp) override {
    const Rpc rpc{kInference, "ModelConfig"};
    countStarted(ctx_, rpc);
    return answer(ctx_, call, rpc, modelConfig(ctx_.core, *req, *resp), resp);
  }
  grpc::ServerUnaryReactor* ModelStatistics(grpc::CallbackServerContext* call,
                                            const inference::ModelStatisticsRequest* req,
                                            inference::ModelStatisticsResponse* resp) override {
    const Rpc rpc{kInference, "ModelStatistics"};
    countStarted(ctx_, rpc);
    return answer(ctx_, call, rpc, modelStatistics(ctx_.core, *req, *resp), resp);
  }

 private:
  ServiceContext& ctx_;
};

class ModelRepositoryService final : public inference::model_repository::ModelRepositoryService::CallbackService {
 public:
  explicit ModelRepositoryService(ServiceContext& ctx) : ctx_(ctx) {}

  grpc::ServerUnaryReactor* RepositoryIndex(grpc::CallbackServerContext* call,
                                            const inference::model_repository::RepositoryIndexRequest* req,
                                            inference::model_repository::RepositoryIndexResponse* resp) override {
    return repositoryIndex(ctx_, call, {kRepository, "RepositoryIndex"}, *req, *resp);
  }
  grpc::ServerUnaryReactor* RepositoryModelLoad(grpc::CallbackServerContext*,
                                                const inference::model_repository::RepositoryModelLoadRequest* req,
                                                inference::model_repository::RepositoryModelLoadResponse*) override {
    return repositoryChange(ctx_, {kRepository, "RepositoryModelLoad"}, *req, true);
  }
  grpc::ServerUnaryReactor* RepositoryModelUnload(
      grpc::CallbackServerContext*, const inference::model_repository::RepositoryModelUnloadRequest* req,
      inference::model_repository::RepositoryModelUnloadResponse*) override {
    return repositoryChange(ctx_, {kRepository, "RepositoryModelUnload"}, *req, false);
  }

 private:
  ServiceContext& ctx_;
};

}  // namespace

std::unique_ptr<grpc::Service> makeInferenceService(ServiceContext& ctx) {
  return std::make_unique<InferenceService>(ctx);
}
std::unique_ptr<grpc::Service> makeModelRepositoryService(ServiceContext& ctx) {
  return std::make_unique<ModelRepositoryService>(ctx);
}

}  // namespace ringserve::supervisor::grpcfe
