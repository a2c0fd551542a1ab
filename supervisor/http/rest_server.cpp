#include "supervisor/http/rest_server.hpp"

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
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
#include "supervisor/http/error_status.hpp"
#include "supervisor/http/route.hpp"
#include "supervisor/http/triton_routes.hpp"

namespace ringserve::supervisor {

using Clock = std::chrono::steady_clock;

namespace {

const char* methodName(evhttp_cmd_type cmd) {
  switch (cmd) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_HEAD: return "HEAD";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_DELETE: return "DELETE";
    case EVHTTP_REQ_OPTIONS: return "OPTIONS";
    case EVHTTP_REQ_PATCH: return "PATCH";
    default: return "OTHER";
  }
}

void addHeader(evhttp_request* req, const char* k, const std::string& v) {
  evhttp_add_header(evhttp_request_get_output_headers(req), k, v.c_str());
}

std::vector<std::pair<std::string, std::string>> requestHeaders(evhttp_request* req) {
  std::vector<std::pair<std::string, std::string>> out;
  evkeyvalq* h = evhttp_request_get_input_headers(req);
  for (evkeyval* kv = h->tqh_first; kv != nullptr; kv = kv->next.tqe_next) out.emplace_back(kv->key, kv->value);
  return out;
}

const char* headerValue(evhttp_request* req, const char* name) {
  return evhttp_find_header(evhttp_request_get_input_headers(req), name);
}

bool acceptsGzip(evhttp_request* req) {
  const char* ae = headerValue(req, "Accept-Encoding");
  return ae != nullptr && std::strstr(ae, "gzip") != nullptr;
}

}  // namespace

// Everything one HTTP loop owns. Loop thread only.
struct RestServer::PerLoop {
  RestServer* server = nullptr;
  EventLoop* loop = nullptr;
  evhttp* http = nullptr;
  evhttp_bound_socket* bound = nullptr;
  dispatch::Dispatcher* dispatcher = nullptr;
  std::map<std::tuple<std::string, int, std::string>, Counter*> requestCounters;
  std::map<std::string, Histogram*> requestDurations;

  static void onRequest(evhttp_request* req, void* self) { static_cast<PerLoop*>(self)->handle(req); }

  void handle(evhttp_request* req);
  void reply(evhttp_request* req, int status, const std::string& body, const RouteMatch& route, Clock::time_point t0,
             const char* contentType = "application/json");
  void replyError(evhttp_request* req, const ApiError& e, const RouteMatch& route, Clock::time_point t0);
  void finishMetrics(evhttp_request* req, int status, const RouteMatch& route, Clock::time_point t0);
  // gzip_enabled, the client accepts gzip and the body is worth it (1 KiB or more).
  bool gzipFor(evhttp_request* req, std::uint64_t bodyBytes) const {
    return server->settings_.gzipEnabled && bodyBytes >= 1024 && acceptsGzip(req);
  }
  void infer(evhttp_request* req, const RouteMatch& route, Clock::time_point t0);
  void repositoryIndex(evhttp_request* req, const RouteMatch& route, Clock::time_point t0);
  void repositoryChange(evhttp_request* req, const RouteMatch& route, Clock::time_point t0, bool load);
};

RestServer::RestServer(ServerCore& core, const settings::ServerSettings& settings,
                       std::vector<dispatch::Dispatcher*> dispatchers, MetricsRegistry& metrics)
    : core_(core),
      settings_(settings),
      metrics_(metrics) {
  for (dispatch::Dispatcher* d : dispatchers) {
    auto pl = std::make_unique<PerLoop>();
    pl->server = this;
    pl->loop = &d->loop();
    pl->dispatcher = d;
    pl->http = evhttp_new(pl->loop->base());
    evhttp_set_max_body_size(pl->http, static_cast<ev_ssize_t>(settings.maxRequestSize));
    // Every method reaches the router, so a wrong one gets a JSON 405 rather than libevent's HTML 501.
    evhttp_set_allowed_methods(pl->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
                                             EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
    evhttp_set_gencb(pl->http, &PerLoop::onRequest, pl.get());
    loops_.push_back(std::move(pl));
  }
}

RestServer::~RestServer() {
  for (auto& pl : loops_) evhttp_free(pl->http);
  if (listenFd_ >= 0) ::close(listenFd_);
}

Expected<int> RestServer::listen(const std::string& host, int port) {
  auto bound = bindListener(host, port);
  if (!bound) return bound.error();
  listenFd_ = bound->first;
  for (auto& pl : loops_) {
    // Each evhttp closes the fd it was given: give each its own.
    const int fd = ::fcntl(listenFd_, F_DUPFD_CLOEXEC, 0);
    pl->bound = evhttp_accept_socket_with_handle(pl->http, fd);
    if (pl->bound == nullptr) {
      ::close(fd);
      return internalError("evhttp_accept_socket failed");
    }
  }
  return bound->second;
}

void RestServer::stopAccepting() {
  for (auto& pl : loops_) {
    PerLoop* p = pl.get();
    p->loop->post([p] {
      if (p->bound != nullptr) evhttp_del_accept_socket(p->http, p->bound);
      p->bound = nullptr;
    });
  }
}

std::size_t RestServer::loopCount() const { return loops_.size(); }

void RestServer::PerLoop::finishMetrics(evhttp_request* req, int status, const RouteMatch& route,
                                        Clock::time_point t0) {
  const auto& s = server->settings_;
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  if (s.debug)
    spdlog::debug("{} {} {} {:.3f} ms", methodName(evhttp_request_get_command(req)), evhttp_request_get_uri(req),
                  status, secs * 1000);
  if (!s.metricsEndpoint || route.kind == RouteKind::live || route.kind == RouteKind::ready) return;
  const std::string method = methodName(evhttp_request_get_command(req));
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
             .emplace(route.pattern, &server->metrics_.histogram("rest_server_request_duration_seconds",
                                                                 "REST request duration in seconds.",
                                                                 {{"path", route.pattern}}))
             .first;
  jt->second->observe(secs);
}

void RestServer::PerLoop::reply(evhttp_request* req, int status, const std::string& body, const RouteMatch& route,
                                Clock::time_point t0, const char* contentType) {
  evbuffer* out = evbuffer_new();
  if (gzipFor(req, body.size())) {
    std::string z = codec::gzipCompress(body);
    evbuffer_add(out, z.data(), z.size());
    addHeader(req, "Content-Encoding", "gzip");
  } else {
    evbuffer_add(out, body.data(), body.size());
  }
  addHeader(req, "Content-Type", contentType);
  evhttp_send_reply(req, status, nullptr, out);
  evbuffer_free(out);
  finishMetrics(req, status, route, t0);
}

void RestServer::PerLoop::replyError(evhttp_request* req, const ApiError& e, const RouteMatch& route,
                                     Clock::time_point t0) {
  reply(req, e.status, codec::errorBody(e.message), route, t0);
}

void RestServer::PerLoop::handle(evhttp_request* req) {
  const auto t0 = Clock::now();
  const auto cmd = evhttp_request_get_command(req);
  const char* uri = evhttp_request_get_uri(req);
  RouteMatch route = matchRoute(uri != nullptr ? uri : "/");
  const bool get = cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD;
  const bool post = cmd == EVHTTP_REQ_POST;
  auto wrongMethod = [&] { replyError(req, ApiError{405, "Method not allowed for " + route.pattern}, route, t0); };
  auto& core = server->core_;

  switch (route.kind) {
    case RouteKind::notFound:
      replyError(req, notFound(std::string("Not found: ") + (uri ? uri : "")), route, t0);
      return;
    case RouteKind::live:
      if (!get) return wrongMethod();
      reply(req, 200, codec::liveBody(), route, t0);
      return;
    case RouteKind::ready: {
      if (!get) return wrongMethod();
      const bool ok = core.routing()->allReady;
      reply(req, ok ? 200 : 400, codec::serverReadyBody(ok), route, t0);
      return;
    }
    case RouteKind::serverMetadata: {
      if (!get) return wrongMethod();
      const auto& s = server->settings_;
      reply(req, 200, codec::serverMetadataBody(s.serverName, s.serverVersion, s.extensions), route, t0);
      return;
    }
    case RouteKind::modelMetadata:
    case RouteKind::modelReady: {
      if (!get) return wrongMethod();
      auto m = dispatch::findModel(*core.routing(), route.model, route.version);
      if (!m) {
        replyError(req, ApiError{httpStatus(m.error().kind), m.error().message}, route, t0);
        return;
      }
      if (route.kind == RouteKind::modelMetadata) {
        reply(req, 200, (*m)->metadataJson, route, t0);
      } else {
        const bool ok = (*m)->state == ModelState::ready;
        reply(req, ok ? 200 : 400, codec::modelReadyBody(route.model, ok), route, t0);
      }
      return;
    }
    case RouteKind::modelConfig:
    case RouteKind::modelStats: {
      if (!get) return wrongMethod();
      auto body = tritonExtensionBody(*core.routing(), route);
      if (!body) return replyError(req, body.error(), route, t0);
      reply(req, 200, body.value(), route, t0);
      return;
    }
    case RouteKind::infer:
      if (!post) return wrongMethod();
      infer(req, route, t0);
      return;
    case RouteKind::repositoryIndex:
      if (!post) return wrongMethod();
      repositoryIndex(req, route, t0);
      return;
    case RouteKind::repositoryLoad:
    case RouteKind::repositoryUnload:
      if (!post) return wrongMethod();
      repositoryChange(req, route, t0, route.kind == RouteKind::repositoryLoad);
      return;
  }
}

void RestServer::PerLoop::repositoryIndex(evhttp_request* req, const RouteMatch& route, Clock::time_point t0) {
  evbuffer* in = evhttp_request_get_input_buffer(req);
  std::string body(evbuffer_get_length(in), '\0');
  evbuffer_copyout(in, body.data(), body.size());
  auto readyFilter = codec::parseRepositoryIndexRequest(body);
  if (!readyFilter) {
    replyError(req, readyFilter.error(), route, t0);
    return;
  }
  const auto entries = server->core_.index();
  std::vector<codec::IndexEntryText> rows;
  for (const auto& e : entries)
    if (!*readyFilter || **readyFilter == (e.state == ModelState::ready))
      rows.push_back({e.name, e.version, toString(e.state), e.reason});
  reply(req, 200, codec::repositoryIndexBody(rows), route, t0);
}

void RestServer::PerLoop::repositoryChange(evhttp_request* req, const RouteMatch& route, Clock::time_point t0,
                                           bool load) {
  EventLoop* home = loop;
  auto done = [this, home, req, route, t0](Expected<std::string> r) {
    // Runs on the main loop; the reply goes out from this request's own loop.
    home->post([this, req, route, t0, r = std::move(r)] {
      if (r)
        reply(req, 200, "", route, t0);
      else
        replyError(req, r.error(), route, t0);
    });
  };
  if (load)
    server->core_.repositoryLoad(route.model, std::move(done));
  else
    server->core_.repositoryUnload(route.model, std::move(done));
}

// The inference path's answer, written into the evhttp reply. Binary outputs go to libevent by
// reference into the response arena; `keepAlive` (the worker's response blocks) is dropped when
// libevent has written the last of them.
class RestServer::RestWriter final : public dispatch::ResponseWriter {
 public:
  RestWriter(PerLoop& pl, evhttp_request* req, RouteMatch route, Clock::time_point t0)
      : pl_(pl), req_(req), route_(std::move(route)), t0_(t0), out_(evbuffer_new()),
        refs_(std::make_unique<ReferencedOutputs>()), sink_(out_, &onReferenceDone, refs_.get()) {}
  ~RestWriter() override { evbuffer_free(out_); }

  codec::OutputSink& body() override { return sink_; }

  void finish(const dispatch::ResponseHead& head, std::shared_ptr<void> keepAlive) override {
    for (const auto& [k, v] : head.headers) addHeader(req_, k.c_str(), v);
    if (head.inferenceHeaderContentLength) {
      addHeader(req_, "Inference-Header-Content-Length", std::to_string(*head.inferenceHeaderContentLength));
      addHeader(req_, "Content-Type", "application/octet-stream");
    } else {
      addHeader(req_, "Content-Type", "application/json");
      // JSON bodies only: binary tensors stay by reference, uncompressed.
      if (pl_.gzipFor(req_, head.bodyBytes)) gzipInPlace();
    }
    if (sink_.references() > 0) {
      refs_->retained = std::move(keepAlive);
      refs_->remaining = sink_.references();
      refs_.release();  // onReferenceDone deletes it
    }
    evhttp_send_reply(req_, 200, "OK", out_);
    pl_.finishMetrics(req_, 200, route_, t0_);
  }

  void fail(const dispatch::Failure& f) override {
    pl_.replyError(req_, ApiError{httpStatus(f.kind), f.message}, route_, t0_);
  }

 private:
  struct ReferencedOutputs {
    std::shared_ptr<void> retained;  // keeps the worker's response blocks and the segment alive
    std::size_t remaining = 0;
  };
  static void onReferenceDone(const void*, std::size_t, void* arg) {
    auto* r = static_cast<ReferencedOutputs*>(arg);
    if (--r->remaining == 0) delete r;
  }
  void gzipInPlace() {
    std::string plain(evbuffer_get_length(out_), '\0');
    evbuffer_remove(out_, plain.data(), plain.size());
    const std::string z = codec::gzipCompress(plain);
    evbuffer_add(out_, z.data(), z.size());
    addHeader(req_, "Content-Encoding", "gzip");
  }

  PerLoop& pl_;
  evhttp_request* req_;
  RouteMatch route_;
  Clock::time_point t0_;
  evbuffer* out_;
  std::unique_ptr<ReferencedOutputs> refs_;
  codec::EvbufferSink sink_;
};

// evhttp -> the inference path: the route's model and version, the headers, the body in place.
void RestServer::PerLoop::infer(evhttp_request* req, const RouteMatch& route, Clock::time_point t0) {
  dispatch::RequestInfo info;
  info.model = route.model;
  info.version = route.version;
  info.headers = requestHeaders(req);
  info.received = t0;
  const codec::EvbufferBody bytes(evhttp_request_get_input_buffer(req));
  const char* encoding = headerValue(req, "Content-Encoding");
  const dispatch::RequestBody body{&bytes, encoding != nullptr ? encoding : ""};
  dispatcher->infer(std::move(info), body, std::make_unique<RestWriter>(*this, req, route, t0));
}

}  // namespace ringserve::supervisor
