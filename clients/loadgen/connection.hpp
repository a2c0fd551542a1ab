#pragma once
// One keep-alive HTTP/1.1 client connection on a non-blocking socket, driven by the caller's
// epoll loop. Requests are written from caller-owned bytes (bench writes the same prebuilt request
// every time, without copying it) and may be pipelined; responses are matched to requests in
// order. A connection that fails reports every request still on it as failed and must be
// reopened by the caller.
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "clients/loadgen/response_parser.hpp"
#include "clients/loadgen/url.hpp"
#include "transport/unique_fd.hpp"

namespace ringserve::loadgen {

// A finished exchange. status 0 = no HTTP response (connect/read/write failure, reset, timeout,
// malformed response): `error` says which.
struct Exchange {
  int status = 0;
  std::uint64_t tag = 0;       // the caller's
  std::uint64_t startNs = 0;   // the caller's (bench: scheduled or send time)
  std::string error;
  std::string body;            // only for keepBody connections
  std::string inferenceHeaderLength;  // the response header, only for keepBody connections
};

class Connection {
 public:
  Connection(const Endpoint& ep, bool keepBody) : ep_(&ep), parser_(keepBody), keepBody_(keepBody) {}

  // Starts a non-blocking connect. On failure returns false with the reason in *error.
  bool open(std::string* error);
  bool isOpen() const { return bool(fd_); }
  bool connecting() const { return connecting_; }
  int fd() const { return fd_.get(); }
  // Queues a request; `bytes` must stay valid until the response (or failure) is reported.
  void send(std::string_view bytes, std::uint64_t tag, std::uint64_t startNs);
  // Writes what it can. False = the connection failed (see fail()).
  bool flush(std::vector<Exchange>& done);
  bool wantsWrite() const { return connecting_ || !unsent_.empty(); }
  // Reads what is there and reports finished exchanges. False = the connection is closed now
  // (failed, or the server ended keep-alive); requests still on it are reported as failed.
  bool onReadable(std::vector<Exchange>& done);
  // Closes the socket and reports every request still on it as failed with `why`.
  void fail(const std::string& why, std::vector<Exchange>& done);
  std::size_t inFlight() const { return pending_.size(); }
  // Start time of the oldest request still waiting (for timeouts); 0 if none.
  std::uint64_t oldestStartNs() const { return pending_.empty() ? 0 : pending_.front().startNs; }
  std::uint64_t bytesReceived() const { return bytesIn_; }

 private:
  struct Pending {
    std::uint64_t tag;
    std::uint64_t startNs;
  };
  void finishResponse(std::vector<Exchange>& done);

  const Endpoint* ep_;
  transport::UniqueFd fd_;
  bool connecting_ = false;
  ResponseParser parser_;
  bool keepBody_;
  std::deque<std::string_view> unsent_;  // front() partially written up to sendOffset_
  std::size_t sendOffset_ = 0;
  std::deque<Pending> pending_;          // sent or queued, awaiting responses, in order
  std::uint64_t bytesIn_ = 0;
};

}  // namespace ringserve::loadgen
