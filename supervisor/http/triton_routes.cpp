#include "supervisor/http/triton_routes.hpp"

#include "supervisor/codec/triton_bodies.hpp"
#include "supervisor/core/model_stats.hpp"
#include "supervisor/dispatch/target.hpp"

namespace ringserve::supervisor {

Expected<std::string> tritonExtensionBody(const RoutingTable& table, const RouteMatch& route) {
  if (route.kind == RouteKind::modelConfig) {
    auto m = dispatch::findModel(table, route.model, route.version);
    if (!m) return m.error();
    return (*m)->configJson;
  }
  auto rows = collectStats(table, route.model, route.version);
  if (!rows) return rows.error();
  return codec::modelStatsBody(rows.value());
}

}  // namespace ringserve::supervisor
