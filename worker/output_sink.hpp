#pragma once
// Outputs of one predict call, allocated in the response arena. Each allocation gets 8 guard
// bytes after the output; verify() checks them after predict returns, so a runtime that wrote past
// what it was given fails its request instead of corrupting a neighbour. verify() also checks that
// a BYTES output holds exactly its shape's element count of well-formed length-prefixed elements.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ringserve/abi.h"
#include "transport/endpoint.hpp"

namespace ringserve::worker {

struct OutputRecord {
  std::string name;
  std::uint32_t datatype = 0;
  std::vector<std::int64_t> shape;
  std::uint64_t offset = 0;  // from the segment start
  std::uint64_t size = 0;
  std::string parametersJson;
};

class OutputSink {
 public:
  explicit OutputSink(transport::WorkerEndpoint& endpoint) : endpoint_(&endpoint) {}

  // On failure returns the RINGSERVE_* code and sets `error`.
  std::int32_t allocate(const ringserve_output_spec& spec, void** data, std::string& error);
  // nullopt when every output is intact and well-formed, else the message naming the output.
  std::optional<std::string> verify() const;
  // Arena blocks handed out (to free on release, or now on failure).
  const std::vector<std::uint64_t>& blocks() const { return blocks_; }
  const std::vector<OutputRecord>& outputs() const { return outputs_; }
  void freeAll();

 private:
  transport::WorkerEndpoint* endpoint_;
  std::vector<OutputRecord> outputs_;
  std::vector<std::uint64_t> blocks_;
};

}  // namespace ringserve::worker
