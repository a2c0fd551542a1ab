#pragma once
// `infer --batch-size`: several input lines merged into one request along the first axis, and the
// response split back per line (MLServer's BatchedRequests).
#include <cstdint>
#include <string>
#include <vector>

#include "clients/loadgen/v2_types.hpp"

namespace ringserve::loadgen {

struct MergedRequest {
  V2Request request;
  std::vector<std::int64_t> rows;  // each part's share of the first axis
};

// Every part must have the same inputs (names, order, datatypes, dimensions after the first).
// The merged request takes the first part's parameters and requested outputs, and `id`.
// Throws LoadgenError naming the first difference.
MergedRequest mergeRequests(const std::vector<V2Request>& parts, std::string id);

// Splits every output along its first axis by `rows`; throws LoadgenError if an output's first
// dimension is not their sum.
std::vector<V2Response> splitResponse(const V2Response& merged, const std::vector<std::int64_t>& rows);

}  // namespace ringserve::loadgen
