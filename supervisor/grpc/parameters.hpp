#pragma once
// InferParameter maps <-> the JSON objects the inference path carries (parameters travel to the
// worker and back as JSON text, schema/worker.capnp). bool, int64, string, double and uint64 map to
// their JSON values and back; a JSON array or object (which the proto cannot hold) becomes its
// JSON text in string_param.
#include <simdjson.h>

#include <string>
#include <string_view>

#include <google/protobuf/map.h>

#include "dataplane.pb.h"

namespace ringserve::supervisor::grpcfe {

using ParameterMap = google::protobuf::Map<std::string, inference::InferParameter>;

// Appends `"key":value` for each parameter (comma-separated, no braces) except `skip`; returns
// whether `skip` was present.
bool appendParameterMembers(std::string& out, const ParameterMap& params, std::string_view skip = {});

// The members of a JSON object into `out`; anything else is ignored.
void setParameters(ParameterMap& out, simdjson::dom::element obj);
// The same from JSON text ("" = none); false when it is not a JSON object.
bool setParametersFromJson(ParameterMap& out, std::string_view json);

}  // namespace ringserve::supervisor::grpcfe
