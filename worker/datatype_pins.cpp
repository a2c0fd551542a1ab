// The three datatype enums must agree value for value: the schema's (schema/worker.capnp, used by
// the supervisor and transport/datatype.hpp), the plugin C ABI's (sdk/include/ringserve/abi.h) and
// the SDK's C++ enum (sdk/include/ringserve/datatype.hpp, defined from the ABI's). The worker is
// the one place that sees all three and casts between them (infer_loop.cpp, output_sink.cpp), so
// the build fails here when one of them changes alone.
#include <ringserve/abi.h>
#include <ringserve/datatype.hpp>

#include "worker.capnp.h"

namespace ringserve::worker {
namespace {

using S = schema::DataType;
using Sdk = ringserve::DataType;

constexpr bool same(S s, int abi, Sdk sdk) { return static_cast<int>(s) == abi && static_cast<int>(sdk) == abi; }

static_assert(same(S::BOOL, RINGSERVE_BOOL, Sdk::BOOL));
static_assert(same(S::UINT8, RINGSERVE_UINT8, Sdk::UINT8));
static_assert(same(S::UINT16, RINGSERVE_UINT16, Sdk::UINT16));
static_assert(same(S::UINT32, RINGSERVE_UINT32, Sdk::UINT32));
static_assert(same(S::UINT64, RINGSERVE_UINT64, Sdk::UINT64));
static_assert(same(S::INT8, RINGSERVE_INT8, Sdk::INT8));
static_assert(same(S::INT16, RINGSERVE_INT16, Sdk::INT16));
static_assert(same(S::INT32, RINGSERVE_INT32, Sdk::INT32));
static_assert(same(S::INT64, RINGSERVE_INT64, Sdk::INT64));
static_assert(same(S::FP16, RINGSERVE_FP16, Sdk::FP16));
static_assert(same(S::BF16, RINGSERVE_BF16, Sdk::BF16));
static_assert(same(S::FP32, RINGSERVE_FP32, Sdk::FP32));
static_assert(same(S::FP64, RINGSERVE_FP64, Sdk::FP64));
static_assert(same(S::BYTES, RINGSERVE_BYTES, Sdk::BYTES));
// A new schema enumerant without a table row is caught by tests/transport/datatype_test.cpp.

}  // namespace
}  // namespace ringserve::worker
