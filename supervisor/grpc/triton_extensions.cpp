#include "supervisor/grpc/triton_extensions.hpp"

#include <google/protobuf/util/json_util.h>

#include <string>

#include "supervisor/codec/triton_bodies.hpp"
#include "supervisor/core/model_stats.hpp"
#include "supervisor/dispatch/target.hpp"
#include "supervisor/grpc/status.hpp"

namespace ringserve::supervisor::grpcfe {

namespace {
// Our own JSON, so a parse failure is a bug here; it still answers INTERNAL rather than a
// half-filled message.
grpc::Status fromJson(const std::string& json, google::protobuf::Message& out) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;  // the REST body may carry fields the proto subset lacks
  const auto st = google::protobuf::util::JsonStringToMessage(json, &out, options);
  if (st.ok()) return grpc::Status::OK;
  return {grpc::StatusCode::INTERNAL, "cannot convert the answer to protobuf: " + std::string(st.message())};
}
}  // namespace

grpc::Status modelConfig(ServerCore& core, const inference::ModelConfigRequest& req,
                         inference::ModelConfigResponse& resp) {
  auto m = dispatch::findModel(*core.routing(), req.name(), req.version());
  if (!m) return toStatus(m.error());
  return fromJson((*m)->configJson, *resp.mutable_config());
}

grpc::Status modelStatistics(ServerCore& core, const inference::ModelStatisticsRequest& req,
                             inference::ModelStatisticsResponse& resp) {
  auto rows = collectStats(*core.routing(), req.name(), req.version());
  if (!rows) return toStatus(rows.error());
  return fromJson(codec::modelStatsBody(rows.value()), resp);
}

}  // namespace ringserve::supervisor::grpcfe
