#pragma once
// The bodies of Triton's model-configuration and statistics routes (docs/rest-api.md), from the
// routing snapshot: kept apart from rest_server.cpp, which only sends them.
#include <string>

#include "supervisor/core/routing.hpp"
#include "supervisor/error.hpp"
#include "supervisor/http/route.hpp"

namespace ringserve::supervisor {

// `route.kind` is modelConfig or modelStats. 404 for an unknown model or version.
Expected<std::string> tritonExtensionBody(const RoutingTable& table, const RouteMatch& route);

}  // namespace ringserve::supervisor
