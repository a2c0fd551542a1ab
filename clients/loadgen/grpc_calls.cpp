#include "clients/loadgen/grpc_calls.hpp"

#include "clients/loadgen/grpc_codec.hpp"

namespace ringserve::loadgen {

AsyncInferCalls::AsyncInferCalls(std::shared_ptr<grpc::Channel> channel)
    : channel_(std::move(channel)), stub_(channel_) {}

AsyncInferCalls::~AsyncInferCalls() {
  for (auto& [raw, call] : calls_) call->ctx.TryCancel();
  cq_.Shutdown();
  void* tag = nullptr;
  bool ok = false;
  while (cq_.Next(&tag, &ok)) calls_.erase(static_cast<Call*>(tag));
}

void AsyncInferCalls::start(const grpc::Slice& request, std::uint64_t tag, std::uint64_t startNs, double timeoutS,
                            const HeaderList& metadata) {
  auto call = std::make_unique<Call>();
  call->tag = tag;
  call->startNs = startNs;
  call->ctx.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::microseconds(static_cast<std::int64_t>(timeoutS * 1e6)));
  addMetadata(call->ctx, metadata);
  grpc::Slice shared = request;  // a new reference, not a copy of the bytes
  const grpc::ByteBuffer body(&shared, 1);
  call->rpc = stub_.PrepareUnaryCall(&call->ctx, kModelInferMethod, body, &cq_);
  call->rpc->StartCall();
  Call* raw = call.get();
  call->rpc->Finish(&raw->reply, &raw->status, raw);
  calls_.emplace(raw, std::move(call));
}

bool AsyncInferCalls::next(std::chrono::system_clock::time_point deadline, Finished& out) {
  void* tag = nullptr;
  bool ok = false;
  if (cq_.AsyncNext(&tag, &ok, deadline) != grpc::CompletionQueue::GOT_EVENT) return false;
  auto it = calls_.find(static_cast<Call*>(tag));
  if (it == calls_.end()) return false;
  Call& c = *it->second;
  out.tag = c.tag;
  out.startNs = c.startNs;
  out.status = ok ? c.status : grpc::Status(grpc::StatusCode::UNKNOWN, "the call did not complete");
  out.reply = std::move(c.reply);
  calls_.erase(it);
  return true;
}

}  // namespace ringserve::loadgen
