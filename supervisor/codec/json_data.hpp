#pragma once
// Internal to the request decoder: a JSON `data` array (nested or flat) parsed straight into an
// arena block of the input's datatype (request_decoder.hpp lists the element rules).
#include <simdjson.h>

#include <cstdint>
#include <optional>

#include "supervisor/codec/arena_target.hpp"
#include "supervisor/codec/request.hpp"
#include "supervisor/error.hpp"

namespace ringserve::supervisor::codec::detail {

// Fills input.offset/size; `count` is the element count of input.shape. badInput naming the input and
// element on a bad value or a count that differs; the target's error when the arena is full.
std::optional<Error> decodeJsonData(DecodedInput& input, simdjson::dom::element data, std::uint64_t count,
                                    ArenaTarget& target);

}  // namespace ringserve::supervisor::codec::detail
