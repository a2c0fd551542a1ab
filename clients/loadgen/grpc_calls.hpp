#pragma once
// Asynchronous ModelInfer calls on one CompletionQueue, owned by one thread: `bench --protocol
// grpc` keeps N of them outstanding per thread, `infer --protocol grpc` one per worker. The
// request is a serialized ModelInferRequest in a grpc::Slice made once; every call references that
// slice (no copy per call), as the REST path writes one prebuilt buffer.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <unordered_map>

#include "clients/loadgen/request_body.hpp"

namespace ringserve::loadgen {

class AsyncInferCalls {
 public:
  explicit AsyncInferCalls(std::shared_ptr<grpc::Channel> channel);
  // Cancels what is still in flight and drains the queue.
  ~AsyncInferCalls();
  AsyncInferCalls(const AsyncInferCalls&) = delete;
  AsyncInferCalls& operator=(const AsyncInferCalls&) = delete;

  // `tag` and `startNs` come back with the call's end; the call's deadline is `timeoutS` from now.
  void start(const grpc::Slice& request, std::uint64_t tag, std::uint64_t startNs, double timeoutS,
             const HeaderList& metadata);

  struct Finished {
    std::uint64_t tag = 0;
    std::uint64_t startNs = 0;
    grpc::Status status;
    grpc::ByteBuffer reply;
  };
  // Waits until `deadline` for one call to end; false when none did.
  bool next(std::chrono::system_clock::time_point deadline, Finished& out);

  std::size_t inFlight() const { return calls_.size(); }
  grpc::Channel& channel() { return *channel_; }

 private:
  struct Call {
    grpc::ClientContext ctx;
    grpc::ByteBuffer reply;
    grpc::Status status;
    std::uint64_t tag = 0;
    std::uint64_t startNs = 0;
    std::unique_ptr<grpc::GenericClientAsyncResponseReader> rpc;
  };
  std::shared_ptr<grpc::Channel> channel_;
  grpc::GenericStub stub_;
  grpc::CompletionQueue cq_;
  std::unordered_map<Call*, std::unique_ptr<Call>> calls_;
};

}  // namespace ringserve::loadgen
