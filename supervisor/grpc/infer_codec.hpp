#pragma once
// ModelInferRequest into a worker's arena, and a worker's checked result into ModelInferResponse:
// the protobuf half of the inference path (the V2 JSON half is codec/). The rules and messages
// are REST's (codec/request_checks.hpp); what differs is where the data sits:
//  - typed `contents`: the field matching the datatype (bool_contents for BOOL, int_contents for
//    INT8/INT16/INT32, int64_contents, uint_contents for UINT8/UINT16/UINT32, uint64_contents,
//    fp32_contents, fp64_contents, bytes_contents), element count equal to the shape's, each
//    element in the datatype's range; written element by element straight into the arena.
//    FP16 and BF16 have no typed field: they travel only as raw contents.
//  - `raw_input_contents`: one blob per input, in input order, for every input or none; each
//    blob is copied once from the parsed message into the arena (README.md says why not zero).
// A response uses raw_output_contents for every output when the request used raw inputs (Triton's
// rule) or when an output is FP16/BF16 (raw contents are all outputs or none); typed contents
// otherwise.
#include <cstdint>

#include "dataplane.pb.h"
#include "supervisor/codec/response_encoder.hpp"
#include "supervisor/dispatch/request.hpp"

namespace ringserve::supervisor::grpcfe {

class InferRequestSource final : public dispatch::RequestSource {
 public:
  explicit InferRequestSource(const inference::ModelInferRequest& request) : request_(request) {}
  Expected<codec::DecodedRequest> decode(const codec::RequestInfo& info, codec::ArenaTarget& target) const override;

 private:
  const inference::ModelInferRequest& request_;
};

// Fills `out` (empty) from `result`: tooLarge naming grpc_max_message_length when the
// message would exceed `maxMessageLength`. Returns the message's size in bytes.
Expected<std::uint64_t> encodeInferResponse(const codec::PlannedResult& result, bool rawOutputs,
                                            std::uint64_t maxMessageLength, inference::ModelInferResponse& out);

// The response-size refusal, shared with the other RPCs.
Error responseTooLarge(std::uint64_t bytes, std::uint64_t maxMessageLength);

}  // namespace ringserve::supervisor::grpcfe
