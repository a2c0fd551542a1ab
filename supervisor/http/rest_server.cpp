#include "supervisor/http/rest_server.hpp"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>

#include "supervisor/codec/cloud_events.hpp"
#include "supervisor/codec/evbuffer_io.hpp"
#include "supervisor/codec/json_text.hpp"
#include "supervisor/event.hpp"
#include "supervisor/codec/request_decoder.hpp"
#include "supervisor/codec/request_frame.hpp"
#include "supervisor/codec/response_encoder.hpp"
#include "supervisor/codec/v2_bodies.hpp"
#include "supervisor/core/request_arena.hpp"
#include "supervisor/http/gzip.hpp"
#include "supervisor/http/route.hpp"

namespace ringserve::supervisor {

using Clock = std::chrono::steady_clock;

Expected<std::pair<int, int>> bindListener(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const std::string portStr = std::to_string(port);
  if (int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), portStr.c_str(), &hints, &res); rc != 0)
    return internalError("cannot resolve listen address " + host + ": " + gai_strerror(rc));
  std::string lastError = "no address";
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    // Accepted sockets inherit it: without it a reply's last partial segment waits ~40 ms for
    // the client's delayed ACK (measured: [1,65536] binary 550 -> 3,194 req/s).
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && ::listen(fd, 1024) == 0) {
      sockaddr_storage ss{};
      socklen_t len = sizeof ss;
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
      const int bound = ss.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
                                                 : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
      ::freeaddrinfo(res);
      return std::pair<int, int>{fd, bound};
    }
    lastError = std::strerror(errno);
    ::close(fd);
  }
  ::freeaddrinfo(res);
  return internalError("cannot listen on " + host + ":" + portStr + ": " + lastError);
}

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
  LoopLanes* lanes = nullptr;
  evhttp* http = nullptr;
  evhttp_bound_socket* bound = nullptr;
  codec::RequestDecoder decoder;
  codec::ResponseEncoder encoder;
  std::map<std::tuple<std::string, int, std::string>, Counter*> requestCounters;
  std::map<std::string, Histogram*> requestDurations;

  static void onRequest(evhttp_request* req, void* self) { static_cast<PerLoop*>(self)->handle(req); }

  void handle(evhttp_request* req);
  void reply(evhttp_request* req, int status, const std::string& body, const RouteMatch& route, Clock::time_point t0,
             const char* contentType = "application/json");
  void replyError(evhttp_request* req, const ApiError& e, const RouteMatch& route, Clock::time_point t0);
  void finishMetrics(evhttp_request* req, int status, const RouteMatch& route, Clock::time_point t0);
  void infer(evhttp_request* req, const RouteMatch& route, Clock::time_point t0);
  void repositoryIndex(evhttp_request* req, const RouteMatch& route, Clock::time_point t0);
  void repositoryChange(evhttp_request* req, const RouteMatch& route, Clock::time_point t0, bool load);
};

RestServer::RestServer(ServerCore& core, const settings::ServerSettings& settings, std::vector<EventLoop*> loops,
                       std::vector<LoopLanes*> lanes, MetricsRegistry& metrics)
    : core_(core),
      settings_(settings),
      metrics_(metrics),
      parallelQueue_(&metrics.histogram("parallel_request_queue",
                                        "Requests in flight on the worker an inference request is dispatched to.",
                                        {}, queueBuckets())) {
  for (std::size_t k = 0; k < loops.size(); ++k) {
    auto pl = std::make_unique<PerLoop>();
    pl->server = this;
    pl->loop = loops[k];
    pl->lanes = lanes[k];
    pl->http = evhttp_new(loops[k]->base());
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
  if (server->settings_.gzipEnabled && body.size() >= 1024 && acceptsGzip(req)) {
    std::string z = gzipCompress(body);
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
      auto table = core.routing();
      const ModelRoute* m = table->find(route.model, route.version);
      if (m == nullptr) {
        replyError(req, notFound(route.version.empty() ? "Model " + route.model + " not found"
                                                       : "Model " + route.model + " with version " + route.version +
                                                             " not found"),
                   route, t0);
        return;
      }
      if (route.kind == RouteKind::modelMetadata) {
        reply(req, 200, m->metadataJson, route, t0);
      } else {
        const bool ok = m->state == ModelState::ready;
        reply(req, ok ? 200 : 400, codec::modelReadyBody(route.model, ok), route, t0);
      }
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

namespace {

// A request on its way through a worker: what the completion needs, on the loop's heap.
struct InferCall {
  RestServer::PerLoop* pl = nullptr;
  evhttp_request* req = nullptr;
  RouteMatch route;
  Clock::time_point t0;
  std::shared_ptr<const ModelRoute> model;  // keeps names and counters alive
  std::shared_ptr<ModelCounters> counters;
  codec::ResponseFormat format;
  std::string modelName, modelVersion;
  std::shared_ptr<WorkerLink> link;
  LaneClient* lane = nullptr;
  std::uint64_t tag = 0;
  std::uint64_t progressAtSend = 0;
  Event timer;  // request_timeout; freed when the answer or the timeout comes, whichever is first
  bool done = false;
  bool gzip = false;
};

// Cleanup state for output bytes handed to libevent by reference.
struct ReferencedOutputs {
  std::shared_ptr<void> retained;  // keeps the worker's response blocks and the segment alive
  std::size_t remaining = 0;
};

void onReferenceDone(const void*, std::size_t, void* arg) {
  auto* r = static_cast<ReferencedOutputs*>(arg);
  if (--r->remaining == 0) delete r;
}

}  // namespace

// A request counts as in flight from the moment it holds its route, not only once it is
// submitted: the unload drain (core/server_core.cpp) unloads when the count is zero, and a request
// still decoding a large body under the old route would otherwise reach a worker whose model is
// gone. Ownership of the count passes to the completion with release().
class InFlightHold {
 public:
  explicit InFlightHold(std::atomic<int>& count) : count_(&count) { count_->fetch_add(1); }
  ~InFlightHold() {
    if (count_ != nullptr) count_->fetch_sub(1);
  }
  InFlightHold(const InFlightHold&) = delete;
  InFlightHold& operator=(const InFlightHold&) = delete;
  void release() { count_ = nullptr; }

 private:
  std::atomic<int>* count_;
};

void RestServer::PerLoop::infer(evhttp_request* req, const RouteMatch& route, Clock::time_point t0) {
  auto& core = server->core_;
  auto table = core.routing();
  const ModelRoute* found = table->find(route.model, route.version);
  if (found == nullptr) {
    replyError(req, notFound(route.version.empty() ? "Model " + route.model + " not found"
                                                   : "Model " + route.model + " with version " + route.version +
                                                         " not found"),
               route, t0);
    return;
  }
  std::shared_ptr<const ModelRoute> model;
  {
    auto& mv = table->models.at(route.model);
    model = mv.byVersion.at(route.version.empty() ? mv.defaultVersion : route.version);
  }
  InFlightHold inFlight(model->counters->inFlight);
  auto fail = [&](const ApiError& e) {
    model->counters->failure->inc();
    replyError(req, e, route, t0);
  };
  if (model->restarting) {
    fail(unavailable("Model " + route.model + " is restarting: " + model->reason + "; retry"));
    return;
  }
  if (model->state != ModelState::ready || model->targets.empty()) {
    fail(badRequest(route.version.empty() ? "Model " + route.model + " is not ready yet."
                                          : "Model " + route.model + " with version " + route.version +
                                                " is not ready yet."));
    return;
  }
  // Least outstanding requests among the workers holding the model.
  const RouteTarget* target = nullptr;
  int best = 0;
  for (const auto& t : model->targets) {
    if (t.link->dead()) continue;
    const int n = t.link->inFlight.load(std::memory_order_relaxed);
    if (target == nullptr || n < best) {
      target = &t;
      best = n;
    }
  }
  LaneClient* lane = target != nullptr ? lanes->get(target->link) : nullptr;
  if (lane == nullptr) {
    fail(unavailable("no worker serving model " + route.model + " is running; retry"));
    return;
  }
  server->parallelQueue_->observe(best + 1);

  // The body: as received, or inflated (bounded by max_request_size).
  evbuffer* in = evhttp_request_get_input_buffer(req);
  std::string inflated;
  std::unique_ptr<codec::BodySource> body;
  const char* ce = headerValue(req, "Content-Encoding");
  if (ce != nullptr && std::strstr(ce, "gzip") != nullptr) {
    std::string compressed(evbuffer_get_length(in), '\0');
    evbuffer_copyout(in, compressed.data(), compressed.size());
    auto r = gzipDecompress(compressed, server->settings_.maxRequestSize);
    if (!r) {
      fail(r.error());
      return;
    }
    inflated = std::move(r.value());
    body = std::make_unique<codec::ContiguousBody>(inflated);
  } else {
    body = std::make_unique<codec::EvbufferBody>(in);
  }

  codec::RequestInfo info;
  info.modelName = route.model;
  info.headers = requestHeaders(req);
  info.declaredInputs = &model->settings->inputs;
  RequestArena arena(*lane);
  auto decoded = decoder.decode(*body, info, arena);
  if (!decoded) {
    fail(decoded.error());
    return;
  }
  if (decoded->clientHeadersOverwritten)
    spdlog::warn("model {}: request {} set parameters.headers; replaced by the HTTP headers", route.model,
                 decoded->id);
  auto frame = codec::writeRequestFrame(decoded.value(), target->handle, arena);
  if (!frame) {
    fail(frame.error());
    return;
  }

  auto call = std::make_shared<InferCall>();
  call->pl = this;
  call->req = req;
  call->route = route;
  call->t0 = t0;
  call->model = model;
  call->counters = model->counters;
  call->format = decoded->responseFormat();
  call->modelName = model->name;
  call->modelVersion = model->version;
  call->link = target->link;
  call->lane = lane;
  call->progressAtSend = target->link->shm->progress();
  call->gzip = server->settings_.gzipEnabled && acceptsGzip(req);
  inFlight.release();  // the completion below, or the submit failure, ends it

  auto tag = lane->submit(frame->offset, frame->size, arena.take(), [call](Completion& c) {
    auto& self = *call->pl;
    call->counters->inFlight.fetch_sub(1, std::memory_order_relaxed);
    call->timer.reset();
    if (call->done) return;
    call->done = true;
    auto failWith = [&](const ApiError& e) {
      call->counters->failure->inc();
      self.replyError(call->req, e, call->route, call->t0);
    };
    if (c.error) return failWith(*c.error);
    auto resp = *c.response;
    if (resp.isError()) {
      auto err = resp.getError();
      return failWith(codec::apiErrorFromWorker(err.getCode(), err.getMessage().cStr()));
    }
    // Binary outputs go to libevent by reference into the response arena; the blocks are
    // released when libevent has written them.
    evbuffer* out = evbuffer_new();
    auto* refs = new ReferencedOutputs();
    codec::EvbufferSink sink(out, &onReferenceDone, refs);
    auto encoded = self.encoder.encode(
        resp.getOk(),
        [&c](std::uint64_t off, std::uint64_t size) { return c.outputBytes(off, size); }, call->format,
        call->modelName, call->modelVersion, sink);
    if (!encoded) {
      delete refs;
      evbuffer_free(out);
      return failWith(encoded.error());
    }
    for (const auto& w : encoded->warnings) spdlog::warn("model {}: {}", call->modelName, w);
    if (sink.references() > 0) {
      refs->retained = c.retain();
      refs->remaining = sink.references();
    } else {
      delete refs;
    }
    auto* r = call->req;
    for (const auto& [k, v] : encoded->headers) addHeader(r, k.c_str(), v);
    for (const auto& [k, v] :
         codec::cloudEventsHeaders(self.server->settings_.serverName, call->modelName, call->format.requestId, true))
      if (evhttp_find_header(evhttp_request_get_output_headers(r), k.c_str()) == nullptr)
        addHeader(r, k.c_str(), v);
    if (encoded->inferenceHeaderContentLength) {
      addHeader(r, "Inference-Header-Content-Length", std::to_string(*encoded->inferenceHeaderContentLength));
      addHeader(r, "Content-Type", "application/octet-stream");
    } else {
      addHeader(r, "Content-Type", "application/json");
      if (call->gzip && encoded->bodyBytes >= 1024) {
        // JSON bodies only: binary tensors stay by reference, uncompressed.
        std::string plain(evbuffer_get_length(out), '\0');
        evbuffer_remove(out, plain.data(), plain.size());
        std::string z = gzipCompress(plain);
        evbuffer_add(out, z.data(), z.size());
        addHeader(r, "Content-Encoding", "gzip");
      }
    }
    evhttp_send_reply(r, 200, "OK", out);
    evbuffer_free(out);
    call->counters->success->inc();
    call->counters->duration->observe(std::chrono::duration<double>(Clock::now() - call->t0).count());
    self.finishMetrics(r, 200, call->route, call->t0);
  });
  if (!tag) {
    model->counters->inFlight.fetch_sub(1, std::memory_order_relaxed);
    fail(tag.error());
    return;
  }
  call->tag = tag.value();

  if (const auto& timeout = server->settings_.requestTimeout) {
    call->timer = Event::timer(
        loop->base(),
        [](evutil_socket_t, short, void* arg) {
          auto* c = static_cast<InferCall*>(arg);
          c->timer.reset();  // inside its own callback: libevent allows it
          if (c->done) return;
          c->done = true;
          c->counters->failure->inc();
          // The worker's late answer is dropped (its blocks are still freed when it arrives).
          c->pl->replyError(c->req,
                            ApiError{504, "Model " + c->modelName + " did not answer within request_timeout (" +
                                              std::to_string(*c->pl->server->settings_.requestTimeout) +
                                              " s) on worker " + c->link->id},
                            c->route, c->t0);
          c->pl->server->core_.reportTimeout(c->link, c->progressAtSend);
        },
        call.get());
    call->timer.add(std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::duration<double>(*timeout)));
  }
}

// ---------------------------------------------------------------------------------------------

MetricsServer::MetricsServer(EventLoop& loop, MetricsRegistry& metrics, std::string path)
    : loop_(loop), metrics_(metrics), path_(std::move(path)) {
  http_ = evhttp_new(loop_.base());
  evhttp_set_gencb(
      http_,
      [](evhttp_request* req, void* arg) {
        auto* self = static_cast<MetricsServer*>(arg);
        const evhttp_uri* u = evhttp_request_get_evhttp_uri(req);
        const char* p = u != nullptr ? evhttp_uri_get_path(u) : nullptr;
        evbuffer* out = evbuffer_new();
        if (p == nullptr || self->path_ != p) {
          const std::string b = codec::errorBody("Not found; metrics are at " + self->path_);
          evbuffer_add(out, b.data(), b.size());
          evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
          evhttp_send_reply(req, 404, "Not Found", out);
        } else {
          const std::string text = self->metrics_.render();
          evbuffer_add(out, text.data(), text.size());
          evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                            "text/plain; version=0.0.4; charset=utf-8");
          evhttp_send_reply(req, 200, "OK", out);
        }
        evbuffer_free(out);
      },
      this);
}

MetricsServer::~MetricsServer() { evhttp_free(http_); }

Expected<int> MetricsServer::listen(const std::string& host, int port) {
  auto bound = bindListener(host, port);
  if (!bound) return bound.error();
  if (evhttp_accept_socket(http_, bound->first) != 0) {
    ::close(bound->first);
    return internalError("evhttp_accept_socket failed for the metrics port");
  }
  return bound->second;
}

}  // namespace ringserve::supervisor
