#include "clients/loadgen/batching.hpp"

#include <numeric>

#include "clients/loadgen/error.hpp"

namespace ringserve::loadgen {

MergedRequest mergeRequests(const std::vector<V2Request>& parts, std::string id) {
  if (parts.empty()) throw LoadgenError("nothing to merge");
  MergedRequest m;
  m.request = parts.front();
  m.request.id = std::move(id);
  for (const Tensor& in : m.request.inputs)
    if (in.shape.empty()) throw LoadgenError("input '" + in.name + "' is a scalar and cannot be batched");
  m.rows.push_back(parts.front().inputs.empty() ? 0 : parts.front().inputs.front().shape[0]);
  for (std::size_t p = 1; p < parts.size(); ++p) {
    const V2Request& part = parts[p];
    if (part.inputs.size() != m.request.inputs.size())
      throw LoadgenError("cannot batch requests with different numbers of inputs");
    for (std::size_t i = 0; i < part.inputs.size(); ++i) {
      Tensor& into = m.request.inputs[i];
      const Tensor& from = part.inputs[i];
      if (from.name != into.name || from.datatype != into.datatype || from.shape.size() != into.shape.size() ||
          !std::equal(from.shape.begin() + 1, from.shape.end(), into.shape.begin() + 1))
        throw LoadgenError("cannot batch input '" + from.name + "': names, datatypes and dimensions after the first must match");
      into.shape[0] += from.shape[0];
      into.elements.insert(into.elements.end(), from.elements.begin(), from.elements.end());
    }
    m.rows.push_back(part.inputs.empty() ? 0 : part.inputs.front().shape[0]);
  }
  return m;
}

std::vector<V2Response> splitResponse(const V2Response& merged, const std::vector<std::int64_t>& rows) {
  const std::int64_t total = std::accumulate(rows.begin(), rows.end(), std::int64_t{0});
  std::vector<V2Response> out(rows.size());
  for (V2Response& r : out) {
    r.modelName = merged.modelName;
    r.modelVersion = merged.modelVersion;
    r.parametersJson = merged.parametersJson;
  }
  for (const Tensor& t : merged.outputs) {
    if (t.shape.empty() || t.shape[0] != total)
      throw LoadgenError("cannot split output '" + t.name + "' into the batch: its first dimension is not " +
                         std::to_string(total));
    const std::uint64_t perRow = total ? t.elements.size() / std::uint64_t(total) : 0;
    std::size_t pos = 0;
    for (std::size_t p = 0; p < rows.size(); ++p) {
      Tensor part;
      part.name = t.name;
      part.datatype = t.datatype;
      part.shape = t.shape;
      part.parametersJson = t.parametersJson;
      part.shape[0] = rows[p];
      const std::size_t n = std::size_t(perRow * std::uint64_t(rows[p]));
      part.elements.assign(t.elements.begin() + std::ptrdiff_t(pos), t.elements.begin() + std::ptrdiff_t(pos + n));
      pos += n;
      out[p].outputs.push_back(std::move(part));
    }
  }
  return out;
}

}  // namespace ringserve::loadgen
