#include "dispatch_fixture.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <stdexcept>

#include "supervisor/codec/body.hpp"

namespace ringserve::supervisor::dispatch::test {

namespace fs = std::filesystem;

RecordingWriter::~RecordingWriter() {
  // Destroyed unanswered: the test sees a failure naming that, instead of hanging.
  if (!answered_) {
    outcome_.failure = Error{ErrorKind::internal, "writer destroyed without an answer"};
    answer();
  }
}

void RecordingWriter::finish(const ResponseHead& head, std::shared_ptr<void> keepAlive) {
  if (answered_) {
    outcome_.answeredOnce = false;
    return;
  }
  outcome_.head = head;
  outcome_.body = sink_.out;
  outcome_.keptAlive = keepAlive != nullptr;
  answer();
}

void RecordingWriter::fail(const Error& failure) {
  if (answered_) {
    outcome_.answeredOnce = false;
    return;
  }
  outcome_.failure = failure;
  answer();
}

void RecordingWriter::answer() {
  answered_ = true;
  done_->set_value(outcome_);
}

InferencePath::InferencePath(FixtureOptions options) {
  const fs::path repo = dir_.path() / "repo";
  fs::create_directories(repo / "flaky");
  fs::copy(fs::path(RINGSERVE_EXAMPLE_MODELS) / "echo", repo / "echo", fs::copy_options::recursive);
  fs::copy_file(RINGSERVE_MISBEHAVE_RUNTIME, repo / "flaky" / "misbehave.so");
  std::ofstream(repo / "flaky" / "model-settings.json")
      << R"({"name": "flaky", "implementation": "misbehave.Misbehave"})";
  fs::create_directories(repo / "broken");
  std::ofstream(repo / "broken" / "model-settings.json") << R"({"name": "broken", "implementation": "nosuch.Runtime"})";

  auto o = supervisor::test::testServerOptions(repo, dir_.path() / "run" / "ctl.sock");
  o.core.settings.serverName = "dispatch-test";
  o.core.settings.requestTimeout = options.requestTimeout;
  o.core.settings.maxRequestSize = options.maxRequestSize;
  o.core.workerExecutable = RINGSERVE_WORKER_BINARY;
  o.core.builtinRuntimeDir = RINGSERVE_RUNTIME_DIR;
  server_ = std::make_unique<supervisor::test::InProcessServer>(std::move(o));
  if (!server_->listenResult()) throw std::runtime_error("listen: " + server_->listenResult().error().message);
  dispatcher_ = &server_->server().dispatcher(0);
  http_ = &server_->server().httpLoop(0);
  for (const auto& name : options.load) {
    auto r = load(name);
    if (!r) throw std::runtime_error("loading " + name + ": " + r.error().message);
  }
}

Expected<std::string> InferencePath::load(const std::string& name) {
  std::promise<Expected<std::string>> loaded;
  core().repositoryLoad(name, [&](Expected<std::string> r) { loaded.set_value(std::move(r)); });
  return loaded.get_future().get();
}

// Server's destruction joins both threads first; requests still pending (a hung worker's) then
// complete there, while the dispatcher they call back into still exists.
InferencePath::~InferencePath() = default;

Outcome InferencePath::infer(RequestInfo info, std::string body, std::string contentEncoding) {
  auto done = std::make_shared<std::promise<Outcome>>();
  auto answer = done->get_future();
  http_->post([this, info = std::move(info), body = std::move(body), contentEncoding = std::move(contentEncoding),
               done]() mutable {
    const codec::ContiguousBody bytes(body);
    dispatcher_->infer(std::move(info), RequestBody{&bytes, contentEncoding}, std::make_unique<RecordingWriter>(done));
  });
  if (answer.wait_for(std::chrono::seconds(60)) != std::future_status::ready)
    throw std::runtime_error("no answer within 60 s");
  return answer.get();
}

Outcome InferencePath::inferFrom(RequestInfo info, std::shared_ptr<const RequestSource> source, MakeWriter makeWriter) {
  auto done = std::make_shared<std::promise<Outcome>>();
  auto answer = done->get_future();
  http_->post([this, info = std::move(info), source, makeWriter, done]() mutable {
    dispatcher_->infer(std::move(info), RequestBody{nullptr, {}, source.get()}, makeWriter(done));
  });
  if (answer.wait_for(std::chrono::seconds(60)) != std::future_status::ready)
    throw std::runtime_error("no answer within 60 s");
  return answer.get();
}

std::vector<int> InferencePath::workerPids() {
  std::vector<int> pids;
  onMain([&] {
    for (const auto& w : core().workers()) pids.push_back(w.pid);
  });
  return pids;
}

int InferencePath::inFlight(const std::string& model) {
  // Read on the HTTP loop: a request answered before submission drops its hold when infer()
  // returns, just after the writer saw the answer.
  std::promise<int> count;
  http_->post([&] {
    const ModelRoute* m = core().routing()->find(model, "");
    count.set_value(m == nullptr ? -1 : m->counters->inFlight.load());
  });
  return count.get_future().get();
}

}  // namespace ringserve::supervisor::dispatch::test
