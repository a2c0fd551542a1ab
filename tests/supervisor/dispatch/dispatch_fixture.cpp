#include "dispatch_fixture.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <fstream>
#include <stdexcept>

#include "supervisor/codec/body.hpp"
#include "supervisor/settings/repository.hpp"

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
  std::string tmpl = (fs::temp_directory_path() / "rs-dispatch-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  const fs::path repo = dir_ / "repo";
  fs::create_directories(repo / "flaky");
  fs::copy(fs::path(RINGSERVE_EXAMPLE_MODELS) / "echo", repo / "echo", fs::copy_options::recursive);
  fs::copy_file(RINGSERVE_MISBEHAVE_RUNTIME, repo / "flaky" / "misbehave.so");
  std::ofstream(repo / "flaky" / "model-settings.json")
      << R"({"name": "flaky", "implementation": "misbehave.Misbehave"})";
  fs::create_directories(repo / "broken");
  std::ofstream(repo / "broken" / "model-settings.json") << R"({"name": "broken", "implementation": "nosuch.Runtime"})";

  main_ = std::make_unique<EventLoop>("main");
  http_ = std::make_unique<EventLoop>("http-0");
  lanes_ = std::make_unique<LoopLanes>(*http_, 0);
  ServerCore::Options o;
  o.settings.modelRepositoryRoot = repo;
  o.settings.parallelWorkers = 1;
  o.settings.shmSize = 8u << 20;
  o.settings.loadModelsAtStartup = false;
  o.workerExecutable = RINGSERVE_WORKER_BINARY;
  o.builtinRuntimeDir = RINGSERVE_RUNTIME_DIR;
  core_ = std::make_unique<ServerCore>(o, *main_, std::vector<LoopLanes*>{lanes_.get()}, metrics_);
  Options d;
  d.serverName = "dispatch-test";
  d.requestTimeout = options.requestTimeout;
  d.maxRequestSize = options.maxRequestSize;
  dispatcher_ = std::make_unique<Dispatcher>(d, modelsOf(*core_), *http_, *lanes_, metrics_);
  http_->startThread();
  main_->startThread();
  onMain([&] { core_->start(settings::discoverModels(repo, settings::EnvMap{})); });
  for (const auto& name : options.load) {
    auto r = load(name);
    if (!r) throw std::runtime_error("loading " + name + ": " + r.error().message);
  }
}

Expected<std::string> InferencePath::load(const std::string& name) {
  std::promise<Expected<std::string>> loaded;
  core_->repositoryLoad(name, [&](Expected<std::string> r) { loaded.set_value(std::move(r)); });
  return loaded.get_future().get();
}

InferencePath::~InferencePath() {
  // Both threads joined first; requests still pending (a hung worker's) then complete here,
  // while the dispatcher they call back into still exists.
  main_->stop();
  http_->stop();
  lanes_->dropAll(unavailable("the test is over"));
  dispatcher_.reset();
  core_.reset();
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

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

void InferencePath::onMain(std::function<void()> fn) {
  std::promise<void> done;
  main_->post([&] {
    fn();
    done.set_value();
  });
  done.get_future().wait();
}

std::vector<int> InferencePath::workerPids() {
  std::vector<int> pids;
  onMain([&] {
    for (const auto& w : core_->workers()) pids.push_back(w.pid);
  });
  return pids;
}

int InferencePath::inFlight(const std::string& model) {
  // Read on the HTTP loop: a request answered before submission drops its hold when infer()
  // returns, just after the writer saw the answer.
  std::promise<int> count;
  http_->post([&] {
    const ModelRoute* m = core_->routing()->find(model, "");
    count.set_value(m == nullptr ? -1 : m->counters->inFlight.load());
  });
  return count.get_future().get();
}

}  // namespace ringserve::supervisor::dispatch::test
