#pragma once
// An in-process inference path: the in-process server (tests/supervisor/server/server_fixture.hpp,
// real ringserve-worker processes) with one HTTP loop, whose Dispatcher the tests call directly,
// and a recording ResponseWriter standing in for a front end. The repository holds the example `echo` and
// `flaky` (tests/e2e/runtimes/misbehave.cpp: throw, bad_input, crash, sleep on request), and
// `broken`, whose runtime does not exist.
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "supervisor/codec/response_encoder.hpp"
#include "supervisor/core/server_core.hpp"
#include "supervisor/dispatch/dispatcher.hpp"
#include "tests/supervisor/server/server_fixture.hpp"

namespace ringserve::supervisor::dispatch::test {

// What the front end saw: finish() (head, body, whether the response blocks were kept) or fail().
struct Outcome {
  std::optional<ResponseHead> head;
  std::string body;
  bool keptAlive = false;
  std::optional<Error> failure;
  bool answeredOnce = true;  // false if the dispatcher called the writer twice
};

class RecordingWriter final : public ResponseWriter {
 public:
  explicit RecordingWriter(std::shared_ptr<std::promise<Outcome>> done) : done_(std::move(done)) {}
  ~RecordingWriter() override;
  codec::OutputSink& body() override { return sink_; }
  void finish(const ResponseHead& head, std::shared_ptr<void> keepAlive) override;
  void fail(const Error& failure) override;

 private:
  void answer();
  std::shared_ptr<std::promise<Outcome>> done_;
  codec::StringSink sink_;
  Outcome outcome_;
  bool answered_ = false;
};

struct FixtureOptions {
  std::optional<double> requestTimeout;
  std::uint64_t maxRequestSize = 1u << 20;
  std::vector<std::string> load = {"echo", "flaky"};  // loaded before the test runs
};

class InferencePath {
 public:
  explicit InferencePath(FixtureOptions options = {});
  ~InferencePath();

  // Runs Dispatcher::infer on the HTTP loop and waits for the writer's answer (a 60 s guard
  // against a hang, not a timing check).
  Outcome infer(RequestInfo info, std::string body, std::string contentEncoding = "");
  Outcome infer(const std::string& model, std::string body) {
    RequestInfo info;
    info.model = model;
    return infer(std::move(info), std::move(body));
  }
  // The same for a front end with its own formats: `source` decodes the request, and the writer
  // `makeWriter` returns (answering into the promise) may bring its own encoding.
  using MakeWriter = std::function<std::unique_ptr<ResponseWriter>(std::shared_ptr<std::promise<Outcome>>)>;
  Outcome inferFrom(RequestInfo info, std::shared_ptr<const RequestSource> source, MakeWriter makeWriter);
  // ServerCore::repositoryLoad, waited for.
  Expected<std::string> load(const std::string& name);
  // Runs fn on the main loop and waits for it.
  void onMain(std::function<void()> fn) { server_->onMain(std::move(fn)); }
  ServerCore& core() { return server_->core(); }
  std::vector<int> workerPids();
  // The model's in-flight count as the routing table shows it (the unload drain waits for 0),
  // read on the HTTP loop.
  int inFlight(const std::string& model);

 private:
  supervisor::test::TempFolder dir_{"rs-dispatch"};  // the repository; outlives the workers
  std::unique_ptr<supervisor::test::InProcessServer> server_;
  Dispatcher* dispatcher_ = nullptr;  // the server's, on its HTTP loop
  EventLoop* http_ = nullptr;
};

}  // namespace ringserve::supervisor::dispatch::test
