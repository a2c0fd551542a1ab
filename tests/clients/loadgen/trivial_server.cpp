// A test-only V2 server on libevent's evhttp (one thread): the baseline that `bench` must out-run
// and the fault injector for error accounting and `infer` retries. Prints "PORT <n>" on stdout
// once listening on 127.0.0.1.
//   --mode fixed   every POST gets the same ~150 B V2 response (the HTTP ceiling, as
//                  shared/limits/src/http_server.cpp --mode=direct)
//   --mode echo    outputs = the request's inputs (JSON or binary extension), id echoed; a request
//                  parameter "delay_ms" delays the reply
//   --fail-every N --fail-status S   every Nth request (1-based) gets S with {"error": ...}
//   --transient K  the first K attempts of each request id (x-request-id header) get 503
//   --close-every N  every Nth response carries Connection: close
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <list>
#include <map>
#include <memory>
#include <string>

#include "clients/loadgen/binary_codec.hpp"
#include "clients/loadgen/error.hpp"
#include "clients/loadgen/request_body.hpp"
#include "clients/loadgen/v2_json.hpp"

using namespace ringserve::loadgen;

namespace {

constexpr char kFixed[] =
    "{\"model_name\":\"tiny\",\"id\":\"req-00000000\",\"parameters\":{},\"outputs\":[{\"name\":\"output-0\","
    "\"shape\":[1,4],\"datatype\":\"FP32\",\"data\":[0.125,0.25,0.375,0.5]}]}";

struct Server {
  std::string mode = "fixed";
  unsigned failEvery = 0;
  int failStatus = 500;
  unsigned transient = 0;
  unsigned closeEvery = 0;
  std::uint64_t served = 0;
  std::map<std::string, unsigned> attempts;
  event_base* base = nullptr;
  std::list<std::unique_ptr<struct Delayed>> delayed;
};

void reply(evhttp_request* r, int status, const std::string& body, const std::string& contentType,
           const std::string& headerLength = "", bool close = false) {
  evkeyvalq* h = evhttp_request_get_output_headers(r);
  evhttp_add_header(h, "Content-Type", contentType.c_str());
  if (!headerLength.empty()) evhttp_add_header(h, "Inference-Header-Content-Length", headerLength.c_str());
  if (close) evhttp_add_header(h, "Connection", "close");
  evbuffer* out = evbuffer_new();
  evbuffer_add(out, body.data(), body.size());
  evhttp_send_reply(r, status, status == 200 ? "OK" : "Error", out);
  evbuffer_free(out);
}

std::string errorBody(const std::string& msg) {
  std::string out = "{\"error\":";
  appendJsonString(out, msg);
  return out + "}";
}

// A reply held back by "delay_ms". Owned by Server::delayed until sent, until its client goes away
// (evhttp then frees the request, so the timer must not fire) or until the server exits.
struct Delayed {
  Server* server = nullptr;
  evhttp_request* r = nullptr;
  event* timer = nullptr;
  std::string body;
  std::string headerLength;
  std::string contentType;
  ~Delayed() {
    if (timer != nullptr) event_free(timer);
  }
};

void dropDelayed(Delayed* d) {
  auto& list = d->server->delayed;
  for (auto it = list.begin(); it != list.end(); ++it)
    if (it->get() == d) {
      list.erase(it);
      return;
    }
}

void sendDelayed(evutil_socket_t, short, void* arg) {
  auto* d = static_cast<Delayed*>(arg);
  evhttp_connection_set_closecb(evhttp_request_get_connection(d->r), nullptr, nullptr);
  reply(d->r, 200, d->body, d->contentType, d->headerLength);
  dropDelayed(d);
}

void onClientGone(evhttp_connection*, void* arg) { dropDelayed(static_cast<Delayed*>(arg)); }

// Echo: the inputs come back as outputs, in the encoding they were asked for.
void echo(Server& s, evhttp_request* r, const std::string& body) {
  const char* hl = evhttp_find_header(evhttp_request_get_input_headers(r), "Inference-Header-Content-Length");
  std::size_t jsonLength = body.size();
  if (hl != nullptr) jsonLength = std::stoull(hl);
  V2Response resp;
  V2Request req;
  bool binaryOut = false;
  std::uint64_t delayMs = 0;
  try {
    // A request parses like a response whose tensors are called "inputs": reuse the response
    // reader for the binary part by renaming the member.
    std::string header = body.substr(0, jsonLength);
    binaryOut = header.find("\"binary_data_output\":true") != std::string::npos;
    const auto pos = header.find("\"inputs\"");
    if (pos == std::string::npos) throw LoadgenError("no inputs");
    header.replace(pos, 8, "\"outputs\"");
    const V2Response parsed = parseResponse(header + body.substr(jsonLength), header.size());
    resp.outputs = parsed.outputs;
    resp.id = parsed.id;
    const auto d = header.find("\"delay_ms\":");
    if (d != std::string::npos) delayMs = std::stoull(header.substr(d + 11));
  } catch (const std::exception& e) {
    reply(r, 400, errorBody(e.what()), "application/json");
    return;
  }
  resp.modelName = "echo";
  if (resp.id.empty()) resp.id = "generated-" + std::to_string(s.served);
  std::string out;
  std::string headerLength;
  if (binaryOut) {
    std::string raw;
    std::string json = "{\"model_name\":\"echo\",\"id\":";
    appendJsonString(json, resp.id);
    json += ",\"outputs\":[";
    for (std::size_t i = 0; i < resp.outputs.size(); ++i) {
      Tensor t = resp.outputs[i];
      const std::size_t before = raw.size();
      appendBinary(t, raw);
      t.elements.clear();
      t.parametersJson = withMember(t.parametersJson, "binary_data_size", std::to_string(raw.size() - before));
      std::string tj;
      appendTensorJson(tj, t);
      tj.erase(tj.rfind(",\"data\":[]"));
      json += (i ? "," : "") + tj + "}";
    }
    json += "]}";
    headerLength = std::to_string(json.size());
    out = json + raw;
  } else {
    out = writeResponseJson(resp);
  }
  const std::string type = binaryOut ? "application/octet-stream" : "application/json";
  if (delayMs == 0) {
    reply(r, 200, out, type, headerLength);
    return;
  }
  auto owned = std::make_unique<Delayed>();
  Delayed* d = owned.get();
  d->server = &s;
  d->r = r;
  d->body = std::move(out);
  d->headerLength = headerLength;
  d->contentType = type;
  d->timer = evtimer_new(s.base, sendDelayed, d);
  s.delayed.push_back(std::move(owned));
  evhttp_connection_set_closecb(evhttp_request_get_connection(r), onClientGone, d);
  timeval tv{time_t(delayMs / 1000), suseconds_t((delayMs % 1000) * 1000)};
  evtimer_add(d->timer, &tv);
}

void onRequest(evhttp_request* r, void* arg) {
  auto& s = *static_cast<Server*>(arg);
  const std::uint64_t n = ++s.served;
  if (evhttp_request_get_command(r) != EVHTTP_REQ_POST) {
    reply(r, 405, errorBody("POST only"), "application/json");
    return;
  }
  if (s.failEvery && n % s.failEvery == 0) {
    reply(r, s.failStatus, errorBody("injected failure " + std::to_string(n)), "application/json");
    return;
  }
  if (s.transient) {
    const char* id = evhttp_find_header(evhttp_request_get_input_headers(r), "x-request-id");
    if (id != nullptr && ++s.attempts[id] <= s.transient) {
      reply(r, 503, errorBody("try again later"), "application/json");
      return;
    }
  }
  const bool close = s.closeEvery && n % s.closeEvery == 0;
  if (s.mode == "fixed") {
    reply(r, 200, std::string(kFixed, sizeof kFixed - 1), "application/json", "", close);
    return;
  }
  evbuffer* in = evhttp_request_get_input_buffer(r);
  std::string body(evbuffer_get_length(in), '\0');
  evbuffer_copyout(in, body.data(), body.size());
  echo(s, r, body);
}

void onSignal(evutil_socket_t, short, void* arg) { event_base_loopbreak(static_cast<event_base*>(arg)); }

}  // namespace

int main(int argc, char** argv) {
  Server s;
  CLI::App app("loadgen test server");
  app.add_option("--mode", s.mode)->check(CLI::IsMember({"fixed", "echo"}));
  app.add_option("--fail-every", s.failEvery);
  app.add_option("--fail-status", s.failStatus);
  app.add_option("--transient", s.transient);
  app.add_option("--close-every", s.closeEvery);
  CLI11_PARSE(app, argc, argv);
  signal(SIGPIPE, SIG_IGN);
  s.base = event_base_new();
  evhttp* http = evhttp_new(s.base);
  evhttp_set_max_body_size(http, 64 << 20);
  evhttp_set_allowed_methods(http, EVHTTP_REQ_POST | EVHTTP_REQ_GET);
  evhttp_set_gencb(http, onRequest, &s);
  evhttp_bound_socket* sock = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);
  if (sock == nullptr) {
    std::fprintf(stderr, "bind failed\n");
    return 1;
  }
  // Accepted sockets inherit TCP_NODELAY from the listener. Without it a response that evhttp
  // writes in two pieces waits for the client's delayed ACK (40 ms) once bodies reach a few KiB.
  const int one = 1;
  setsockopt(evhttp_bound_socket_get_fd(sock), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  getsockname(evhttp_bound_socket_get_fd(sock), reinterpret_cast<sockaddr*>(&ss), &len);
  std::printf("PORT %d\n", ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port));
  std::fflush(stdout);
  event* sigterm = evsignal_new(s.base, SIGTERM, onSignal, s.base);
  event* sigint = evsignal_new(s.base, SIGINT, onSignal, s.base);
  event_add(sigterm, nullptr);
  event_add(sigint, nullptr);
  event_base_dispatch(s.base);
  std::fprintf(stderr, "served %llu requests\n", static_cast<unsigned long long>(s.served));
  event_free(sigterm);
  event_free(sigint);
  evhttp_free(http);  // runs onClientGone for replies still held back
  s.delayed.clear();
  event_base_free(s.base);
  return 0;
}
