#pragma once
// Adaptive batching's rules, as pure functions over decoded requests and worker results (no
// arena, no loop): which requests may share one predict call, how many rows each brings, and how
// the batch's outputs are split back per request. The batcher (batcher.hpp) applies them; the
// rules users rely on are stated in docs/settings.md#adaptive-batching and must stay in step.
#include <capnp/message.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "supervisor/codec/request.hpp"
#include "supervisor/error.hpp"
#include "worker.capnp.h"

namespace ringserve::supervisor::dispatch {

// The rows a request brings: the first dimension every input shares. nullopt when the request
// cannot be batched (no inputs, a scalar input, first dimensions that differ, or 0 rows).
std::optional<std::uint64_t> rowsOf(const codec::DecodedRequest& r);

// The request's `parameters` without the `headers` member every decoder appends last
// (codec/request_decoder.cpp, codec/raw_request.cpp, grpc/infer_codec.cpp): two requests differing
// only in their HTTP headers may share a predict.
std::string_view parametersWithoutHeaders(std::string_view parametersJson);

// Whether `next` may share a predict with `first`: the same inputs (names in the same order,
// datatypes, rank and every dimension but the first, input parameters), the same requested
// outputs (names and parameters) and the same request parameters apart from headers.
bool mergeable(const codec::DecodedRequest& first, const codec::DecodedRequest& next);

// A batch's view of the worker's tensor bytes (Completion::outputBytes: bounds-checked).
using OutputBytes = std::function<Expected<std::span<const std::byte>>(std::uint64_t offset, std::uint64_t size)>;

// One member's share of a batched result: an InferResult of its own (its id, its rows of every
// output, offsets still into the worker's response arena), built in its own message.
struct MemberResult {
  std::unique_ptr<capnp::MallocMessageBuilder> message;
  schema::InferResult::Reader result() { return message->getRoot<schema::InferResult>().asReader(); }
};

// Splits `batch` into one result per member, member k owning `rows[k]` consecutive rows in order.
// Every output must keep the batch's first dimension (the sum of `rows`); one that does not, or
// whose bytes do not match its shape, is an internal error naming it (for every member: the
// runtime broke batching's contract, which no single request caused).
Expected<std::vector<MemberResult>> splitResult(schema::InferResult::Reader batch, std::span<const std::uint64_t> rows,
                                                std::span<const std::string_view> ids, const OutputBytes& bytes);

// Byte offsets of row boundaries in a tensor of `rows` rows: fixed-size datatypes by arithmetic,
// BYTES by walking the 4-byte length prefixes (`data`). boundaries[r] is where row r starts;
// boundaries[rows] == data size. An error names `what` when the bytes do not hold `rows` rows.
Expected<std::vector<std::uint64_t>> rowBoundaries(codec::DataType type, std::span<const std::int64_t> shape,
                                                   std::span<const std::byte> data, std::string_view what);

}  // namespace ringserve::supervisor::dispatch
