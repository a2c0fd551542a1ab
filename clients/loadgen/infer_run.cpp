#include "clients/loadgen/infer_run.hpp"

#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <random>

#include "clients/loadgen/batching.hpp"
#include "clients/loadgen/bench_run.hpp"
#include "clients/loadgen/connection.hpp"
#include "clients/loadgen/error.hpp"
#include "clients/loadgen/grpc_calls.hpp"
#include "clients/loadgen/grpc_codec.hpp"
#include "clients/loadgen/progress.hpp"
#include "clients/loadgen/request_body.hpp"
#include "clients/loadgen/v2_json.hpp"

namespace ringserve::loadgen {
namespace {

constexpr std::uint64_t kSecond = 1'000'000'000ULL;

// Lines of one request (one line unless --batch-size > 1) and what became of them.
struct Job {
  std::uint64_t seq = 0;
  std::vector<std::uint64_t> lineIndex;  // 0-based input line numbers
  std::vector<std::string> lineId;       // the id each line goes by in the output
  std::vector<std::string> out;          // output line per input line ("" until known)
  std::vector<std::size_t> sentParts;    // positions (into lineIndex) carried by the request
  std::vector<std::int64_t> rows;        // their first-axis shares when batched
  std::string requestId;
  std::string http;                      // the request bytes (HTTP, or a serialized ModelInferRequest); stay put while in flight
  HeaderList metadata;                   // gRPC: the call's metadata
  unsigned attempts = 0;
  std::uint64_t retryAt = 0;
  std::uint64_t sentAt = 0;
  bool batched = false;
};

struct Worker {
  std::unique_ptr<Connection> conn;
  Job* job = nullptr;
  std::uint64_t readyAt = 0;  // --batch-interval
  bool registered = false;
  bool wantOut = false;
};

std::string uuid4(std::mt19937_64& rng) {
  const std::uint64_t a = rng();
  const std::uint64_t b = rng();
  unsigned char bytes[16];
  std::memcpy(bytes, &a, 8);
  std::memcpy(bytes + 8, &b, 8);
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0f) | 0x40);
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3f) | 0x80);
  char out[37];
  std::snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", bytes[0],
                bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7], bytes[8], bytes[9], bytes[10],
                bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]);
  return out;
}

std::string errorLine(std::string_view id, std::uint64_t index, std::string_view status, std::string_view msg) {
  std::string out = "{\"id\":";
  appendJsonString(out, id);
  out += ",\"parameters\":{\"batch_index\":" + std::to_string(index) + "},\"error\":{\"status\":";
  appendJsonString(out, status);
  out += ",\"msg\":";
  appendJsonString(out, msg);
  out += "}}";
  return out;
}

// A finished gRPC call as the REST path would have seen it: the response as V2 JSON, or the
// status REST answers the same failure with and the server's message as an error body.
Exchange exchangeOf(AsyncInferCalls::Finished& f, grpc::Channel& channel) {
  Exchange e;
  e.tag = f.tag;
  if (f.status.ok()) {
    std::vector<grpc::Slice> slices;
    std::string bytes;
    if (f.reply.Dump(&slices).ok())
      for (const grpc::Slice& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
    inference::ModelInferResponse response;
    e.status = 200;
    if (!response.ParseFromString(bytes)) {
      e.body = "{}";  // parseResponse reports what is missing
      return e;
    }
    try {
      e.body = writeResponseJson(fromGrpcResponse(response));
    } catch (const LoadgenError& ex) {
      e.status = 0;
      e.error = std::string("bad response: ") + ex.what();
    }
    return e;
  }
  const GrpcOutcome o = outcomeOf(f.status, channel);
  e.status = o.status;
  e.error = o.error == "timeout" ? o.error : o.message;  // status 0: complete() words it as REST's
  if (o.status) {
    e.body = "{\"error\":";
    appendJsonString(e.body, o.message);
    e.body += "}";
  }
  return e;
}

bool retryable(int status) { return status == 0 || status == 429 || status == 502 || status == 503 || status == 504; }

class InferRun {
 public:
  explicit InferRun(const InferOptions& o);
  InferSummary run();

 private:
  std::unique_ptr<Job> readJob();
  bool lineFailed(const std::string& line) const { return line.find("\"error\":{\"status\"") != std::string::npos; }
  void start(std::size_t w, Job* job, std::uint64_t now);
  void updateInterest(std::size_t w);
  void handle(std::size_t w, std::vector<Exchange>& done, std::uint64_t now);
  void complete(Job* job, const Exchange& e, std::uint64_t now);
  void failJob(Job* job, std::string_view status, std::string_view msg);
  void writeReady();
  std::uint64_t idleDelay() const;
  void progress(std::uint64_t now, bool final);

  const InferOptions& o_;
  Endpoint ep_;
  std::string path_;
  HeaderList headers_;
  std::ifstream in_;
  std::ofstream out_;
  std::uint64_t totalLines_ = 0;
  std::uint64_t nextLine_ = 0;
  bool inputDone_ = false;
  std::uint64_t nextSeq_ = 0;
  std::uint64_t nextWrite_ = 0;
  std::map<std::uint64_t, std::unique_ptr<Job>> jobs_;  // by seq: in flight, retrying or waiting to be written
  std::vector<Job*> retrying_;
  std::vector<Worker> workers_;
  std::unique_ptr<AsyncInferCalls> grpc_;  // --transport grpc: every worker's call on one queue
  transport::UniqueFd epoll_;
  std::mt19937_64 rng_;
  InferSummary sum_;
  ProgressLine bar_;
  std::uint64_t startNs_ = 0;
  std::uint64_t nextProgress_ = 0;
};

InferRun::InferRun(const InferOptions& o) : o_(o), bar_(!o.quiet) {
  if (o.model.empty()) throw LoadgenError("--model-name is required");
  if (o.transport != "rest" && o.transport != "grpc")
    throw LoadgenError("transport '" + o.transport + "' is not supported; use rest or grpc");
  if (o.useSsl) throw LoadgenError("--use-ssl: TLS is not supported; use http://");
  if (o.workers == 0) throw LoadgenError("--workers must be at least 1");
  if (o.batchSize == 0) throw LoadgenError("--batch-size must be at least 1");
  if (o.timeout <= 0 || o.retryBackoff < 0 || o.batchInterval < 0 || o.batchJitter < 0)
    throw LoadgenError("--timeout must be positive; --retry-backoff, --batch-interval and --batch-jitter not negative");
  if (o.transport == "grpc") {
    grpc_ = std::make_unique<AsyncInferCalls>(grpcChannel(grpcTarget(o.url)));
  } else {
    ep_ = parseEndpoint(o.url);
    path_ = inferPath(ep_, o.model, o.modelVersion);
  }
  for (const std::string& h : o.headers) headers_.push_back(parseHeaderOption(h));
  {
    std::ifstream count(o.input, std::ios::binary);
    if (!count) throw LoadgenError("cannot read " + o.input);
    std::string line;
    while (std::getline(count, line))
      if (line.find_first_not_of(" \t\r") != std::string::npos) ++totalLines_;
  }
  in_.open(o.input, std::ios::binary);
  if (!in_) throw LoadgenError("cannot read " + o.input);
  out_.open(o.output, std::ios::binary | std::ios::trunc);
  if (!out_) throw LoadgenError("cannot write " + o.output);
  rng_.seed(std::random_device{}());
}

// The next --batch-size non-blank lines as a job (nullptr at the end of the input).
std::unique_ptr<Job> InferRun::readJob() {
  auto job = std::make_unique<Job>();
  std::vector<V2Request> parts;
  std::string line;
  while (job->lineIndex.size() < o_.batchSize && std::getline(in_, line)) {
    const std::uint64_t index = nextLine_++;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::size_t pos = job->lineIndex.size();
    job->lineIndex.push_back(index);
    job->out.emplace_back();
    try {
      V2Request r = parseRequestJson(line);
      if (r.id.empty()) r.id = uuid4(rng_);
      job->lineId.push_back(r.id);
      parts.push_back(std::move(r));
      job->sentParts.push_back(pos);
    } catch (const LoadgenError& e) {
      job->lineId.emplace_back();
      job->out[pos] = errorLine("", index, "preprocessing error", e.what());
    }
  }
  if (job->lineIndex.empty()) {
    inputDone_ = true;
    return nullptr;
  }
  job->seq = nextSeq_++;
  if (parts.empty()) return job;
  V2Request request;
  try {
    if (parts.size() == 1) {
      request = std::move(parts.front());
    } else {
      MergedRequest m = mergeRequests(parts, uuid4(rng_));
      request = std::move(m.request);
      job->rows = std::move(m.rows);
      job->batched = true;
    }
    job->requestId = request.id;
    HeaderList headers = headers_;
    headers.emplace_back("seldon-puid", request.id);
    headers.emplace_back("x-request-id", request.id);
    if (grpc_) {
      job->metadata = std::move(headers);
      job->http = toGrpcRequest(request, o_.model, o_.modelVersion, o_.binaryData).SerializeAsString();
    } else {
      job->http = buildHttpRequest(ep_, path_, headers, encodeRequest(request, o_.binaryData, o_.binaryData));
    }
  } catch (const LoadgenError& e) {
    failJob(job.get(), "preprocessing error", e.what());
    job->sentParts.clear();
  }
  return job;
}

void InferRun::failJob(Job* job, std::string_view status, std::string_view msg) {
  for (const std::size_t pos : job->sentParts)
    job->out[pos] = errorLine(job->lineId[pos], job->lineIndex[pos], status, msg);
}

void InferRun::updateInterest(std::size_t w) {
  Worker& wk = workers_[w];
  if (grpc_) return;
  if (!wk.conn->isOpen()) {
    wk.registered = false;
    return;
  }
  const bool want = wk.conn->wantsWrite();
  if (wk.registered && want == wk.wantOut) return;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP | (want ? EPOLLOUT : 0u);
  ev.data.u64 = w;
  if (epoll_ctl(epoll_.get(), wk.registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, wk.conn->fd(), &ev) != 0)
    throw LoadgenError(std::string("epoll_ctl: ") + std::strerror(errno));
  wk.registered = true;
  wk.wantOut = want;
}

void InferRun::start(std::size_t w, Job* job, std::uint64_t now) {
  Worker& wk = workers_[w];
  wk.job = job;
  ++job->attempts;
  ++sum_.requests;
  job->sentAt = now;
  if (o_.verbosity >= 2)
    std::cerr << "worker " << w << ": sending lines " << job->lineIndex.front() << "-" << job->lineIndex.back()
              << " (attempt " << job->attempts << ")\n";
  if (grpc_) {
    grpc_->start(grpc::Slice(job->http), w, now, o_.timeout, job->metadata);  // the deadline is the timeout
    return;
  }
  std::vector<Exchange> done;
  std::string error;
  if (!wk.conn->isOpen() && !wk.conn->open(&error)) {
    Exchange e;
    e.error = error;
    done.push_back(std::move(e));
    handle(w, done, now);
    return;
  }
  wk.conn->send(job->http, job->seq, now);
  wk.conn->flush(done);
  handle(w, done, now);
}

void InferRun::handle(std::size_t w, std::vector<Exchange>& done, std::uint64_t now) {
  Worker& wk = workers_[w];
  for (const Exchange& e : done) {
    Job* job = wk.job;
    wk.job = nullptr;
    if (job == nullptr) continue;
    const double interval = o_.batchInterval + (o_.batchJitter > 0 ? std::uniform_real_distribution<double>(0, o_.batchJitter)(rng_) : 0);
    wk.readyAt = now + std::uint64_t(interval * 1e9);
    complete(job, e, now);
  }
  done.clear();
  updateInterest(w);
}

void InferRun::complete(Job* job, const Exchange& e, std::uint64_t now) {
  const std::string reason = e.status ? std::to_string(e.status) : e.error == "timeout" ? "timeout" : "connection error";
  if (e.status >= 200 && e.status < 300) {
    try {
      std::size_t jsonLength = e.body.size();
      if (!e.inferenceHeaderLength.empty()) jsonLength = std::stoull(e.inferenceHeaderLength);
      const V2Response whole = parseResponse(e.body, jsonLength);
      std::vector<V2Response> parts = job->batched ? splitResponse(whole, job->rows) : std::vector<V2Response>{whole};
      for (std::size_t k = 0; k < parts.size(); ++k) {
        const std::size_t pos = job->sentParts[k];
        V2Response& r = parts[k];
        r.id = job->lineId[pos];
        std::string idJson;
        appendJsonString(idJson, whole.id.empty() ? job->requestId : whole.id);
        r.parametersJson = withMember(withMember(r.parametersJson, "batch_index", std::to_string(job->lineIndex[pos])),
                                      "inference_id", idJson);
        job->out[pos] = writeResponseJson(r);
      }
    } catch (const std::exception& ex) {
      failJob(job, "postprocessing error", ex.what());
    }
    return;
  }
  const std::string msg = e.status ? errorMessage(e.body) : e.error;
  if (retryable(e.status) && job->attempts <= o_.retries) {
    const double delay = std::min(30.0, o_.retryBackoff * std::pow(2.0, double(job->attempts - 1)));
    job->retryAt = now + std::uint64_t(delay * 1e9);
    retrying_.push_back(job);
    ++sum_.retries;
    if (o_.verbosity >= 1) {
      std::cerr << "retry " << job->attempts << "/" << o_.retries << " of line " << job->lineIndex.front();
      if (job->lineIndex.size() > 1) std::cerr << "-" << job->lineIndex.back();
      std::cerr << " in " << delay << " s after " << reason << ": " << msg << "\n";
    }
    return;
  }
  if (o_.verbosity >= 1)
    std::cerr << "line " << job->lineIndex.front() << " failed after " << job->attempts << " attempt(s): " << reason
              << ": " << msg << "\n";
  failJob(job, reason, msg);
}

// Writes finished jobs in input order.
void InferRun::writeReady() {
  for (;;) {
    auto it = jobs_.find(nextWrite_);
    if (it == jobs_.end()) return;
    Job* job = it->second.get();
    const bool busy = std::find(retrying_.begin(), retrying_.end(), job) != retrying_.end() ||
                      std::any_of(workers_.begin(), workers_.end(), [&](const Worker& w) { return w.job == job; });
    if (busy) return;
    for (const std::string& line : job->out) {
      out_ << line << '\n';
      ++sum_.lines;
      if (lineFailed(line)) ++sum_.failed;
      else ++sum_.ok;
    }
    jobs_.erase(it);
    ++nextWrite_;
  }
}

void InferRun::progress(std::uint64_t now, bool final) {
  if (!final && now < nextProgress_) return;
  nextProgress_ = now + kSecond;
  const double elapsed = double(now - startNs_) / 1e9;
  const std::uint64_t doneLines = sum_.lines;
  const double frac = totalLines_ ? double(doneLines) / double(totalLines_) : 1.0;
  constexpr int kWidth = 24;
  const int filled = int(frac * kWidth);
  std::string bar(1, '[');
  bar.append(std::size_t(filled), '#').append(std::size_t(kWidth - filled), '-').append("] ");
  char text[160];
  std::snprintf(text, sizeof text, "%llu/%llu lines %3.0f%%  %.1f lines/s  %llu failed  %llu retries",
                static_cast<unsigned long long>(doneLines), static_cast<unsigned long long>(totalLines_), frac * 100,
                elapsed > 0 ? double(doneLines) / elapsed : 0.0, static_cast<unsigned long long>(sum_.failed),
                static_cast<unsigned long long>(sum_.retries));
  bar_.update(bar + text);
}

InferSummary InferRun::run() {
  epoll_.reset(epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_) throw LoadgenError(std::string("epoll_create1: ") + std::strerror(errno));
  workers_.resize(o_.workers);
  if (!grpc_)
    for (Worker& w : workers_) w.conn = std::make_unique<Connection>(ep_, true);
  startNs_ = monotonicNs();
  nextProgress_ = startNs_ + kSecond;
  std::vector<Exchange> done;
  epoll_event events[64];
  for (;;) {
    std::uint64_t now = monotonicNs();
    // Hand work to idle workers: retries that are due first, then new lines.
    for (std::size_t w = 0; w < workers_.size(); ++w) {
      if (workers_[w].job != nullptr || workers_[w].readyAt > now) continue;
      auto due = std::find_if(retrying_.begin(), retrying_.end(), [&](const Job* j) { return j->retryAt <= now; });
      Job* job = nullptr;
      if (due != retrying_.end()) {
        job = *due;
        retrying_.erase(due);
      } else {
        while (!inputDone_ && job == nullptr) {
          std::unique_ptr<Job> fresh = readJob();
          if (!fresh) break;
          Job* raw = fresh.get();
          jobs_[raw->seq] = std::move(fresh);
          if (!raw->http.empty()) job = raw;  // else every line failed to parse: nothing to send
        }
      }
      if (job == nullptr) break;
      start(w, job, now);
    }
    writeReady();
    progress(now, false);
    if (inputDone_ && jobs_.empty()) break;

    int waitMs = 100;
    for (const Job* j : retrying_) waitMs = std::min<int>(waitMs, j->retryAt > now ? int((j->retryAt - now) / 1'000'000) + 1 : 0);
    for (const Worker& w : workers_)
      if (w.job == nullptr && w.readyAt > now) waitMs = std::min<int>(waitMs, int((w.readyAt - now) / 1'000'000) + 1);
    if (grpc_) {
      AsyncInferCalls::Finished f;
      auto deadline = std::chrono::system_clock::now() + std::chrono::milliseconds(waitMs);
      while (grpc_->next(deadline, f)) {
        done.push_back(exchangeOf(f, grpc_->channel()));
        handle(std::size_t(f.tag), done, monotonicNs());
        deadline = {};  // then only what has finished already
      }
      continue;
    }
    const int n = epoll_wait(epoll_.get(), events, 64, waitMs);
    if (n < 0 && errno != EINTR) throw LoadgenError(std::string("epoll_wait: ") + std::strerror(errno));
    now = monotonicNs();
    for (int k = 0; k < n; ++k) {
      const auto w = std::size_t(events[k].data.u64);
      Connection& c = *workers_[w].conn;
      if (!c.isOpen()) continue;
      bool alive = true;
      if (events[k].events & (EPOLLOUT | EPOLLERR)) alive = c.flush(done);
      if (alive && (events[k].events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP | EPOLLERR))) c.onReadable(done);
      handle(w, done, now);
    }
    for (std::size_t w = 0; w < workers_.size(); ++w) {
      Worker& wk = workers_[w];
      if (wk.job != nullptr && now - wk.job->sentAt > std::uint64_t(o_.timeout * 1e9)) {
        wk.conn->fail("timeout", done);
        handle(w, done, now);
      }
    }
  }
  out_.flush();
  if (!out_) throw LoadgenError("cannot write " + o_.output);
  progress(monotonicNs(), true);
  bar_.finish();
  return sum_;
}

}  // namespace

InferSummary runInfer(const InferOptions& o) {
  InferRun run(o);
  return run.run();
}

int runInferCommand(const InferOptions& o) {
  const std::uint64_t start = monotonicNs();
  const InferSummary s = runInfer(o);
  const double elapsed = double(monotonicNs() - start) / 1e9;
  char text[256];
  std::snprintf(text, sizeof text, "infer: %llu lines, %llu ok, %llu failed in %.2f s (%llu requests, %llu retries); output in ",
                static_cast<unsigned long long>(s.lines), static_cast<unsigned long long>(s.ok),
                static_cast<unsigned long long>(s.failed), elapsed, static_cast<unsigned long long>(s.requests),
                static_cast<unsigned long long>(s.retries));
  std::cerr << text << o.output << "\n";
  return s.failed ? 1 : 0;
}

}  // namespace ringserve::loadgen
