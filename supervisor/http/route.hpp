#pragma once
// Which V2 endpoint a request path names. Model names and versions are percent-decoded.
#include <string>
#include <string_view>

namespace ringserve::supervisor {

enum class RouteKind {
  notFound, live, ready, serverMetadata, modelMetadata, modelReady, infer,
  repositoryIndex, repositoryLoad, repositoryUnload,
  modelConfig, modelStats,  // Triton's extensions; modelStats with no model = every model
};

struct RouteMatch {
  RouteKind kind = RouteKind::notFound;
  std::string model;
  std::string version;   // "" = default version
  std::string pattern;   // the route template, e.g. "/v2/models/{name}/infer" (metrics label)
};

// `uri` is the request target (path plus optional query).
RouteMatch matchRoute(std::string_view uri);

}  // namespace ringserve::supervisor
