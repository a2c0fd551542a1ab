// MetricsServer (rest_server.hpp): GET or HEAD on the metrics path answers the registry's
// Prometheus text; any other path is a JSON 404, any other method a JSON 405. Main loop only.
#include <event2/buffer.h>

#include <string_view>

#include "supervisor/codec/json_text.hpp"
#include "supervisor/http/acceptor.hpp"
#include "supervisor/http/connection.hpp"
#include "supervisor/http/rest_server.hpp"

namespace ringserve::supervisor {

namespace {
// A scrape is a bodiless GET: these bounds are for clients that are not Prometheus.
http::ConnectionLimits metricsLimits() {
  http::ConnectionLimits l;
  l.reader.maxHeaderSize = 16u << 10;
  l.reader.maxBodySize = 64u << 10;
  return l;
}
constexpr std::uint64_t kMetricsBodyBudget = 1u << 20;  // bodies held by the metrics port at once
}  // namespace

struct MetricsServer::Impl final : http::RequestHandler {
  Impl(EventLoop& l, MetricsRegistry& m, std::string p)
      : loop(l), metrics(m), path(std::move(p)), conns(loop.base(), *this, metricsLimits(), budget) {}
  ~Impl() override { evbuffer_free(reply); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void onRequest(const std::shared_ptr<http::Connection>& conn, http::ParsedRequest& r, evbuffer*) override {
    std::string_view target = r.target;
    target = target.substr(0, target.find('?'));
    if (target != path) return conn->respondError(404, "Not found; metrics are at " + path, false);
    if (r.method != http::Verb::get && r.method != http::Verb::head)
      return conn->respondError(405, "Method " + r.methodText + " not allowed; scrape " + path + " with GET", false);
    const std::string text = metrics.render();
    evbuffer_add(reply, text.data(), text.size());
    std::string& h = conn->headerScratch();
    h.assign("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n");
    conn->respond(200, h, reply);
  }

  EventLoop& loop;
  MetricsRegistry& metrics;
  std::string path;
  http::BodyBudget budget{kMetricsBodyBudget};
  http::ConnectionSet conns;
  std::unique_ptr<http::Acceptor> acceptor;
  evbuffer* reply = evbuffer_new();  // respond() moves its chains out; reused
};

MetricsServer::MetricsServer(EventLoop& loop, MetricsRegistry& metrics, std::string path)
    : impl_(std::make_unique<Impl>(loop, metrics, std::move(path))) {}

MetricsServer::~MetricsServer() = default;

Expected<int> MetricsServer::listen(const std::string& host, int port) {
  auto bound = bindListener(host, port);
  if (!bound) return bound.error();
  Impl* impl = impl_.get();
  impl->acceptor =
      std::make_unique<http::Acceptor>(impl->loop.base(), bound->first, [impl](int fd) { impl->conns.adopt(fd); });
  impl->acceptor->start();
  return bound->second;
}

}  // namespace ringserve::supervisor
