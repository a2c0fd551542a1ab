#include "supervisor/http/route.hpp"

#include <event2/http.h>

#include <cstdlib>
#include <vector>

namespace ringserve::supervisor {

namespace {
std::vector<std::string_view> split(std::string_view path) {
  std::vector<std::string_view> parts;
  std::size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    const std::size_t j = path.find('/', i);
    const std::size_t end = j == std::string_view::npos ? path.size() : j;
    if (end > i) parts.push_back(path.substr(i, end - i));
    i = end;
  }
  return parts;
}

// Every decoded byte is kept, NUL included: read as a C string, "echo%00junk" was "echo" (a
// request for another name served, or unloaded, echo). A name with a NUL is simply a name no
// model has (404).
std::string decode(std::string_view s) {
  const std::string in(s);
  std::size_t n = 0;
  char* d = evhttp_uridecode(in.c_str(), 0, &n);
  if (d == nullptr) return in;
  std::string out(d, n);
  std::free(d);
  return out;
}
}  // namespace

RouteMatch matchRoute(std::string_view uri) {
  RouteMatch m;
  const std::size_t q = uri.find('?');
  const auto parts = split(uri.substr(0, q));
  if (parts.empty() || parts[0] != "v2") return m;
  const std::size_t n = parts.size();
  if (n == 1) {
    m.kind = RouteKind::serverMetadata;
    m.pattern = "/v2";
    return m;
  }
  if (parts[1] == "health" && n == 3) {
    if (parts[2] == "live") m.kind = RouteKind::live, m.pattern = "/v2/health/live";
    if (parts[2] == "ready") m.kind = RouteKind::ready, m.pattern = "/v2/health/ready";
    return m;
  }
  if (parts[1] == "repository") {
    if (n == 3 && parts[2] == "index") {
      m.kind = RouteKind::repositoryIndex;
      m.pattern = "/v2/repository/index";
    } else if (n == 5 && parts[2] == "models" && (parts[4] == "load" || parts[4] == "unload")) {
      m.kind = parts[4] == "load" ? RouteKind::repositoryLoad : RouteKind::repositoryUnload;
      m.model = decode(parts[3]);
      m.pattern = std::string("/v2/repository/models/{name}/") + std::string(parts[4]);
    }
    return m;
  }
  if (parts[1] != "models" || n < 3) return m;
  if (n == 3 && parts[2] == "stats") {  // Triton's: every model (so no model named "stats" has stats)
    m.kind = RouteKind::modelStats;
    m.pattern = "/v2/models/stats";
    return m;
  }
  m.model = decode(parts[2]);
  std::size_t i = 3;
  std::string base = "/v2/models/{name}";
  if (n >= 5 && parts[3] == "versions") {
    m.version = decode(parts[4]);
    i = 5;
    base += "/versions/{version}";
  }
  if (i == n) {
    m.kind = RouteKind::modelMetadata;
    m.pattern = base;
  } else if (i + 1 == n) {
    const auto verb = parts[i];
    if (verb == "ready") m.kind = RouteKind::modelReady;
    if (verb == "infer" || verb == "generate") m.kind = RouteKind::infer;
    if (verb == "config") m.kind = RouteKind::modelConfig;
    if (verb == "stats") m.kind = RouteKind::modelStats;
    if (m.kind != RouteKind::notFound) m.pattern = base + "/" + std::string(verb);
  }
  if (m.kind == RouteKind::notFound) {
    m.model.clear();
    m.version.clear();
  }
  return m;
}

}  // namespace ringserve::supervisor
