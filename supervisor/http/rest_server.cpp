#include "supervisor/http/rest_server.hpp"

#include <event2/buffer.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <map>

#include "supervisor/codec/evbuffer_io.hpp"
#include "supervisor/codec/gzip.hpp"
#include "supervisor/codec/json_text.hpp"
#include "supervisor/codec/v2_bodies.hpp"
#include "supervisor/dispatch/dispatcher.hpp"
#include "supervisor/dispatch/target.hpp"
#include "supervisor/http/acceptor.hpp"
#include "supervisor/http/connection.hpp"
#include "supervisor/http/error_status.hpp"
#include "supervisor/http/route.hpp"
#include "supervisor/http/triton_routes.hpp"

namespace ringserve::supervisor {

using Clock = std::chrono::steady_clock;
using http::Connection;
using http::ParsedRequest;
using http::Verb;

namespace {

const char* methodName(Verb v) {
  switch (v) {
    case Verb::get: return "GET";
    case Verb::post: return "POST";
    case Verb::head: return "HEAD";
    case Verb::put: return "PUT";
    case Verb::delete_: return "DELETE";
    case Verb::options: return "OPTIONS";
    case Verb::patch: return "PATCH";
    default: return "OTHER";
  }
}

void addHeader(std::string& lines, std::string_view k, std::string_view v) {
  lines += k;
  lines += ": ";
  lines += v;
  lines += "\r\n";
}

}  // namespace

// One request being answered: where the answer goes (the connection may be gone by then) and
// what its metrics need.
struct Exchange {
  std::weak_ptr<Connection> conn;
  RouteMatch route;
  Clock::time_point t0;
  Verb method = Verb::get;
  bool acceptsGzip = false;
  std::string target;  // for the debug log only
};

// Everything one HTTP loop owns. Loop thread only.
struct RestServer::PerLoop final : http::RequestHandler {
  RestServer* server = nullptr;
  EventLoop* loop = nullptr;
  std::unique_ptr<http::ConnectionSet> conns;
  std::unique_ptr<http::Acceptor> acceptor;
  dispatch::Dispatcher* dispatcher = nullptr;  // the server assembly's, shared with gRPC
  evbuffer* replyBody = nullptr;               // reused: respond() moves its chains out
  std::map<std::tuple<std::string, int, std::string>, Counter*> requestCounters;
  std::map<std::string, Histogram*> requestDurations;

  ~PerLoop() override {
    acceptor.reset();
    conns.reset();
    if (replyBody != nullptr) evbuffer_free(replyBody);
  }
  void onRequest(const std::shared_ptr<Connection>& conn, ParsedRequest& req, evbuffer* body) override;
  void accept(int fd);
  void reply(const Exchange& ex, int status, const std::string& body, const char* contentType = "application/json");
  void replyError(const Exchange& ex, const Error& e);
  void finishMetrics(const Exchange& ex, int status);
  // gzip_enabled, the client accepts gzip and the body is worth it (1 KiB or more).
  bool gzipFor(const Exchange& ex, std::uint64_t bodyBytes) const {
    return server->settings_.gzipEnabled && bodyBytes >= 1024 && ex.acceptsGzip;
  }
  void infer(Exchange ex, ParsedRequest& req, evbuffer* body);
  void repositoryIndex(const Exchange& ex, evbuffer* body);
  void repositoryChange(const Exchange& ex, bool load);
};

namespace {
http::ConnectionLimits connectionLimits(const settings::ServerSettings& s) {
  using std::chrono::milliseconds;
  http::ConnectionLimits l;
  l.reader.maxHeaderSize = static_cast<std::size_t>(s.maxHeaderSize);
  l.reader.maxBodySize = s.maxRequestSize;
  l.headerTimeout = milliseconds(static_cast<long>(s.headerTimeout * 1000));
  l.idleTimeout = milliseconds(static_cast<long>(s.idleTimeout * 1000));
  return l;
}
}  // namespace

RestServer::RestServer(ServerCore& core, const settings::ServerSettings& settings,
                       std::vector<dispatch::Dispatcher*> dispatchers, MetricsRegistry& metrics)
    : core_(core),
      settings_(settings),
      metrics_(metrics),
      bodyBudget_(std::make_unique<http::BodyBudget>(settings.maxInflightBodyBytes)) {
  for (dispatch::Dispatcher* d : dispatchers) {
    auto pl = std::make_unique<PerLoop>();
    pl->server = this;
    pl->loop = &d->loop();
    pl->dispatcher = d;
    pl->conns = std::make_unique<http::ConnectionSet>(pl->loop->base(), *pl, connectionLimits(settings), *bodyBudget_);
    pl->conns->onClosed = [this] { connections_.fetch_sub(1, std::memory_order_relaxed); };
    pl->replyBody = evbuffer_new();
    loops_.push_back(std::move(pl));
  }
}

RestServer::~RestServer() {
  loops_.clear();
  if (listenFd_ >= 0) ::close(listenFd_);
}

Expected<int> RestServer::listen(const std::string& host, int port) {
  auto bound = bindListener(host, port);
  if (!bound) return bound.error();
  listenFd_ = bound->first;
  for (auto& pl : loops_) {
    const int fd = ::fcntl(listenFd_, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) return internalError(std::string("cannot share the listening socket: ") + std::strerror(errno));
    PerLoop* p = pl.get();
    p->acceptor = std::make_unique<http::Acceptor>(p->loop->base(), fd, [p](int c) { p->accept(c); });
    p->acceptor->start();
  }
  return bound->second;
}

// max_connections counts every loop's connections; one over it is closed at once, after a 503
// when the socket takes it without blocking.
void RestServer::PerLoop::accept(int fd) {
  const auto max = server->settings_.maxConnections;
  if (max > 0 && server->connections_.fetch_add(1, std::memory_order_relaxed) >= max) {
    server->connections_.fetch_sub(1, std::memory_order_relaxed);
    static constexpr std::string_view kBusy =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: 50\r\n"
        "Connection: close\r\n\r\n{\"error\":\"Too many connections (max_connections)\"}";
    [[maybe_unused]] auto n = ::send(fd, kBusy.data(), kBusy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    ::close(fd);
    return;
  }
  if (max == 0) server->connections_.fetch_add(1, std::memory_order_relaxed);
  if (!conns->adopt(fd)) server->connections_.fetch_sub(1, std::memory_order_relaxed);
}

void RestServer::stopAccepting() {
  // The listening socket closes with its last descriptor (each acceptor holds a copy), so a new
  // connection is refused instead of waiting in a backlog nobody reads.
  if (listenFd_ >= 0) ::close(listenFd_);
  listenFd_ = -1;
  for (auto& pl : loops_) {
    PerLoop* p = pl.get();
    p->loop->post([p] { p->acceptor.reset(); });
  }
}

std::size_t RestServer::loopCount() const { return loops_.size(); }

void RestServer::PerLoop::finishMetrics(const Exchange& ex, int status) {
  const auto& s = server->settings_;
  const auto& route = ex.route;
  const double secs = std::chrono::duration<double>(Clock::now() - ex.t0).count();
  if (s.debug) spdlog::debug("{} {} {} {:.3f} ms", methodName(ex.method), ex.target, status, secs * 1000);
  if (!s.metricsEndpoint || route.kind == RouteKind::live || route.kind == RouteKind::ready) return;
  const std::string method = methodName(ex.method);
  auto key = std::make_tuple(method, status, route.pattern);
  auto it = requestCounters.find(key);
  if (it == requestCounters.end())
    it = requestCounters
             .emplace(key, &server->metrics_.counter(
                               "rest_server_requests_total", "REST requests by method, path and status.",
                               {{"method", method}, {"path", route.pattern}, {"status_code", std::to_string(status)}}))
             .first;
  it->second->inc();
  auto jt = requestDurations.find(route.pattern);
  if (jt == requestDurations.end())
    jt = requestDurations
             .emplace(route.pattern,
                      &server->metrics_.histogram("rest_server_request_duration_seconds",
                                                  "REST request duration in seconds.", {{"path", route.pattern}}))
             .first;
  jt->second->observe(secs);
}

void RestServer::PerLoop::reply(const Exchange& ex, int status, const std::string& body, const char* contentType) {
  auto conn = ex.conn.lock();
  if (conn) {
    std::string& lines = conn->headerScratch();
    lines.clear();
    addHeader(lines, "Content-Type", contentType);
    if (gzipFor(ex, body.size())) {
      const std::string z = codec::gzipCompress(body);
      evbuffer_add(replyBody, z.data(), z.size());
      addHeader(lines, "Content-Encoding", "gzip");
    } else {
      evbuffer_add(replyBody, body.data(), body.size());
    }
    conn->respond(status, lines, replyBody);
    evbuffer_drain(replyBody, evbuffer_get_length(replyBody));
  }
  finishMetrics(ex, status);
}

void RestServer::PerLoop::replyError(const Exchange& ex, const Error& e) {
  reply(ex, httpStatus(e.kind), codec::errorBody(e.message));
}

void RestServer::PerLoop::onRequest(const std::shared_ptr<Connection>& conn, ParsedRequest& req, evbuffer* body) {
  Exchange ex;
  ex.conn = conn;
  ex.t0 = Clock::now();
  ex.method = req.method;
  ex.route = matchRoute(req.target);
  if (server->settings_.debug) ex.target = req.target;
  if (const std::string* ae = req.header("Accept-Encoding")) ex.acceptsGzip = ae->find("gzip") != std::string::npos;
  const bool get = req.method == Verb::get || req.method == Verb::head;
  const bool post = req.method == Verb::post;
  const auto& route = ex.route;
  // 405 is REST's own: no error kind below http/ means "wrong method".
  auto wrongMethod = [&] { reply(ex, 405, codec::errorBody("Method not allowed for " + route.pattern)); };
  auto& core = server->core_;

  switch (route.kind) {
    case RouteKind::notFound: replyError(ex, notFound("Not found: " + req.target)); return;
    case RouteKind::live:
      if (!get) return wrongMethod();
      reply(ex, 200, codec::liveBody());
      return;
    case RouteKind::ready: {
      if (!get) return wrongMethod();
      const bool ok = core.routing()->allReady;
      reply(ex, ok ? 200 : 400, codec::serverReadyBody(ok));
      return;
    }
    case RouteKind::serverMetadata: {
      if (!get) return wrongMethod();
      const auto& s = server->settings_;
      reply(ex, 200, codec::serverMetadataBody(s.serverName, s.serverVersion, s.extensions));
      return;
    }
    case RouteKind::modelMetadata:
    case RouteKind::modelReady: {
      if (!get) return wrongMethod();
      auto m = dispatch::findModel(*core.routing(), route.model, route.version);
      if (!m) {
        replyError(ex, m.error());
        return;
      }
      if (route.kind == RouteKind::modelMetadata) {
        reply(ex, 200, (*m)->metadataJson);
      } else {
        const bool ok = (*m)->state == ModelState::ready;
        reply(ex, ok ? 200 : 400, codec::modelReadyBody(route.model, ok));
      }
      return;
    }
    case RouteKind::modelConfig:
    case RouteKind::modelStats: {
      if (!get) return wrongMethod();
      auto text = tritonExtensionBody(*core.routing(), route);
      if (!text) return replyError(ex, text.error());
      reply(ex, 200, text.value());
      return;
    }
    case RouteKind::infer:
      if (!post) return wrongMethod();
      infer(std::move(ex), req, body);
      return;
    case RouteKind::repositoryIndex:
      if (!post) return wrongMethod();
      repositoryIndex(ex, body);
      return;
    case RouteKind::repositoryLoad:
    case RouteKind::repositoryUnload:
      if (!post) return wrongMethod();
      repositoryChange(ex, route.kind == RouteKind::repositoryLoad);
      return;
  }
}

void RestServer::PerLoop::repositoryIndex(const Exchange& ex, evbuffer* in) {
  std::string body(evbuffer_get_length(in), '\0');
  evbuffer_copyout(in, body.data(), body.size());
  auto readyFilter = codec::parseRepositoryIndexRequest(body);
  if (!readyFilter) {
    replyError(ex, readyFilter.error());
    return;
  }
  const auto entries = server->core_.index();
  std::vector<codec::IndexEntryText> rows;
  for (const auto& e : entries)
    if (!*readyFilter || **readyFilter == (e.state == ModelState::ready))
      rows.push_back({e.name, e.version, toString(e.state), e.reason});
  reply(ex, 200, codec::repositoryIndexBody(rows));
}

void RestServer::PerLoop::repositoryChange(const Exchange& ex, bool load) {
  EventLoop* home = loop;
  auto done = [this, home, ex](Expected<std::string> r) {
    // Runs on the main loop; the reply goes out from this request's own loop.
    home->post([this, ex, r = std::move(r)] {
      if (r)
        reply(ex, 200, "");
      else
        replyError(ex, r.error());
    });
  };
  if (load)
    server->core_.repositoryLoad(ex.route.model, std::move(done));
  else
    server->core_.repositoryUnload(ex.route.model, std::move(done));
}

// The inference path's answer, written to the connection. Binary outputs go to libevent by
// reference into the response arena; `keepAlive` (the worker's response blocks) is dropped when
// libevent has written the last of them (or dropped them with a closed connection).
class RestServer::RestWriter final : public dispatch::ResponseWriter {
 public:
  RestWriter(PerLoop& pl, Exchange ex)
      : pl_(pl),
        ex_(std::move(ex)),
        out_(evbuffer_new()),
        refs_(std::make_unique<ReferencedOutputs>()),
        sink_(out_, &onReferenceDone, refs_.get()) {}
  ~RestWriter() override { evbuffer_free(out_); }

  codec::OutputSink& body() override { return sink_; }

  void finish(const dispatch::ResponseHead& head, std::shared_ptr<void> keepAlive) override {
    if (sink_.references() > 0) {
      refs_->retained = std::move(keepAlive);
      refs_->remaining = sink_.references();
      refs_.release();  // onReferenceDone deletes it
    }
    auto conn = ex_.conn.lock();
    if (conn) {
      std::string& lines = conn->headerScratch();
      lines.clear();
      for (const auto& [k, v] : head.headers) addHeader(lines, k, v);
      if (head.inferenceHeaderContentLength) {
        addHeader(lines, "Inference-Header-Content-Length", std::to_string(*head.inferenceHeaderContentLength));
        addHeader(lines, "Content-Type", "application/octet-stream");
      } else {
        addHeader(lines, "Content-Type", "application/json");
        // JSON bodies only: binary tensors stay by reference, uncompressed.
        if (pl_.gzipFor(ex_, head.bodyBytes)) gzipInPlace(lines);
      }
      conn->respond(200, lines, out_);
    }
    pl_.finishMetrics(ex_, 200);
  }

  void fail(const Error& f) override { pl_.replyError(ex_, f); }

 private:
  struct ReferencedOutputs {
    std::shared_ptr<void> retained;  // keeps the worker's response blocks and the segment alive
    std::size_t remaining = 0;
  };
  static void onReferenceDone(const void*, std::size_t, void* arg) {
    auto* r = static_cast<ReferencedOutputs*>(arg);
    if (--r->remaining == 0) delete r;
  }
  void gzipInPlace(std::string& lines) {
    std::string plain(evbuffer_get_length(out_), '\0');
    evbuffer_remove(out_, plain.data(), plain.size());
    const std::string z = codec::gzipCompress(plain);
    evbuffer_add(out_, z.data(), z.size());
    addHeader(lines, "Content-Encoding", "gzip");
  }

  PerLoop& pl_;
  Exchange ex_;
  evbuffer* out_;
  std::unique_ptr<ReferencedOutputs> refs_;
  codec::EvbufferSink sink_;
};

// A parsed request -> the inference path: the route's model and version, the headers, the body
// read in place from the connection's body buffer.
void RestServer::PerLoop::infer(Exchange ex, ParsedRequest& req, evbuffer* body) {
  dispatch::RequestInfo info;
  info.model = ex.route.model;
  info.version = ex.route.version;
  info.received = ex.t0;
  std::string encoding;
  if (const std::string* ce = req.header("Content-Encoding")) encoding = *ce;
  info.headers = std::move(req.headers);
  const codec::EvbufferBody bytes(body);
  const dispatch::RequestBody b{&bytes, encoding};
  dispatcher->infer(std::move(info), b, std::make_unique<RestWriter>(*this, std::move(ex)));
}

}  // namespace ringserve::supervisor
