#include "supervisor/dispatch/batch_rules.hpp"

#include <cstring>
#include <string>

#include "transport/bytes_elements.hpp"

namespace ringserve::supervisor::dispatch {

std::optional<std::uint64_t> rowsOf(const codec::DecodedRequest& r) {
  if (r.inputs.empty()) return std::nullopt;
  const auto& first = r.inputs.front().shape;
  if (first.empty() || first[0] < 1) return std::nullopt;
  for (const auto& in : r.inputs)
    if (in.shape.empty() || in.shape[0] != first[0]) return std::nullopt;
  return static_cast<std::uint64_t>(first[0]);
}

std::string_view parametersWithoutHeaders(std::string_view json) {
  const auto at = json.rfind("\"headers\":");
  return at == std::string_view::npos ? json : json.substr(0, at);
}

namespace {

bool sameInput(const codec::DecodedInput& a, const codec::DecodedInput& b) {
  return a.name == b.name && a.datatype == b.datatype && a.shape.size() == b.shape.size() &&
         std::equal(a.shape.begin() + 1, a.shape.end(), b.shape.begin() + 1) && a.parametersJson == b.parametersJson;
}

bool sameOutput(const codec::RequestedOutput& a, const codec::RequestedOutput& b) {
  return a.name == b.name && a.parametersJson == b.parametersJson;
}

}  // namespace

bool mergeable(const codec::DecodedRequest& first, const codec::DecodedRequest& next) {
  return first.inputs.size() == next.inputs.size() &&
         std::equal(first.inputs.begin(), first.inputs.end(), next.inputs.begin(), sameInput) &&
         first.outputs.size() == next.outputs.size() &&
         std::equal(first.outputs.begin(), first.outputs.end(), next.outputs.begin(), sameOutput) &&
         parametersWithoutHeaders(first.parametersJson) == parametersWithoutHeaders(next.parametersJson);
}

Expected<std::vector<std::uint64_t>> rowBoundaries(codec::DataType type, std::span<const std::int64_t> shape,
                                                   std::span<const std::byte> data, std::string_view what) {
  const auto fail = [&](const std::string& why) {
    return internalError(std::string(what) + " " + codec::shapeString(shape) + ": " + why);
  };
  if (shape.empty() || shape[0] < 0) return fail("has no batch dimension");
  const auto perRow = codec::elementCount(shape.subspan(1));
  if (!perRow) return fail("has an invalid shape");
  const auto rows = static_cast<std::uint64_t>(shape[0]);
  const auto elements = codec::elementCount(shape);  // at most 2^60, so rows * perRow cannot wrap
  if (!elements) return fail("has an invalid shape");
  // max_batch_size is at most 2^31 (supervisor/settings): a larger first dimension is a lie, and
  // must not size the table below.
  if (rows > (std::uint64_t{1} << 31)) return fail("has more rows than a batch can hold");
  std::vector<std::uint64_t> at(rows + 1, 0);
  if (type != codec::DataType::BYTES) {
    const std::uint64_t rowBytes = *perRow * codec::elementSize(type);
    // Division first: rows * rowBytes may not fit 64 bits for a lying worker's shape.
    if (rowBytes != 0 ? data.size() / rowBytes != rows || data.size() % rowBytes != 0 : !data.empty())
      return fail("does not hold that many elements");
    for (std::uint64_t r = 0; r <= rows; ++r) at[r] = r * rowBytes;
    return at;
  }
  // Row r starts where element r * perRow does: the shared walk (transport/bytes_elements.hpp)
  // records every element's start, then checks that exactly rows * perRow fill the data.
  std::uint64_t start = 0;
  const auto w = transport::walkBytes(data, *elements, [&](std::uint64_t i, std::string_view element) {
    if (*perRow != 0 && i % *perRow == 0) at[i / *perRow] = start;
    start += 4 + element.size();
  });
  if (w.stop == transport::BytesWalk::Stop::truncatedLength) return fail("ends inside an element's length");
  if (w.stop == transport::BytesWalk::Stop::pastEnd) return fail("ends inside an element");
  if (w.end != data.size()) return fail("holds bytes past its last element");
  if (*perRow == 0)
    for (std::uint64_t r = 0; r <= rows; ++r) at[r] = 0;
  at[rows] = w.end;
  return at;
}

namespace {

// One output of the batch, read once: the frame reader's traversal limit (transport/frame.hpp)
// counts every read, so the split must not walk the message again per member.
struct BatchOutput {
  capnp::Text::Reader name;
  schema::DataType datatype;
  std::vector<std::int64_t> shape;
  std::uint64_t offset, size;
  capnp::Text::Reader parametersJson;
};

}  // namespace

Expected<std::vector<MemberResult>> splitResult(schema::InferResult::Reader batch, std::span<const std::uint64_t> rows,
                                                std::span<const std::string_view> ids, const OutputBytes& bytes) {
  std::uint64_t total = 0;
  for (auto r : rows) total += r;
  std::vector<BatchOutput> outputs;
  for (auto o : batch.getOutputs()) {
    BatchOutput b{o.getName(), o.getDatatype(), {}, o.getOffset(), o.getSize(), o.getParametersJson()};
    for (auto d : o.getShape()) b.shape.push_back(d);
    outputs.push_back(std::move(b));
  }
  // Row boundaries of every output, checked before anything is built.
  std::vector<std::vector<std::uint64_t>> at;
  for (const auto& o : outputs) {
    const std::string what = "the runtime's output " + std::string(o.name.cStr());
    if (o.shape.empty() || o.shape[0] != static_cast<std::int64_t>(total))
      return internalError(what + " has shape " + codec::shapeString(o.shape) + " for a batch of " +
                           std::to_string(total) +
                           " rows: a batching model must return the batch's first dimension (row i of every output "
                           "belongs to row i of the inputs)");
    auto data = bytes(o.offset, o.size);
    if (!data) return data.error();
    auto b = rowBoundaries(o.datatype, o.shape, data.value(), what);
    if (!b) return b.error();
    at.push_back(std::move(b.value()));
  }
  const auto modelName = batch.getModelName();
  const auto modelVersion = batch.getModelVersion();
  const auto parameters = batch.getParametersJson();
  const auto predictStart = batch.getPredictStartNs();
  const auto predictNs = batch.getPredictNs();
  std::vector<MemberResult> out(rows.size());
  std::uint64_t row = 0;
  for (std::size_t k = 0; k < rows.size(); ++k) {
    out[k].message = std::make_unique<capnp::MallocMessageBuilder>();
    auto root = out[k].message->initRoot<schema::InferResult>();
    root.setModelName(modelName);
    root.setModelVersion(modelVersion);
    root.setId(capnp::Text::Reader(ids[k].data(), ids[k].size()));
    root.setParametersJson(parameters);
    root.setPredictStartNs(predictStart);
    root.setPredictNs(predictNs);
    auto list = root.initOutputs(static_cast<unsigned>(outputs.size()));
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      const auto& o = outputs[i];
      auto t = list[static_cast<unsigned>(i)];
      t.setName(o.name);
      t.setDatatype(o.datatype);
      auto shape = t.initShape(static_cast<unsigned>(o.shape.size()));
      shape.set(0, static_cast<std::int64_t>(rows[k]));
      for (unsigned d = 1; d < shape.size(); ++d) shape.set(d, o.shape[d]);
      const auto from = at[i][row];
      const auto to = at[i][row + rows[k]];
      t.setOffset(o.offset + from);
      t.setSize(to - from);
      t.setParametersJson(o.parametersJson);
    }
    row += rows[k];
  }
  return out;
}

}  // namespace ringserve::supervisor::dispatch
