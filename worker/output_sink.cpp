#include "worker/output_sink.hpp"

#include <bit>
#include <cstring>
#include <string_view>

#include "ringserve/datatype.hpp"
#include "transport/bytes_elements.hpp"

namespace ringserve::worker {

namespace {
constexpr std::uint64_t kGuard = 0x52494E47'47554152ULL;  // "RINGGUAR"
constexpr std::uint32_t kMaxRank = 64;
constexpr std::uint64_t kMaxElements = 1ULL << 48;  // keeps elements x 8 bytes far from overflow
static_assert(std::endian::native == std::endian::little, "arena tensors are little-endian");

std::string_view view(const ringserve_string& s) { return s.size == 0 ? std::string_view() : std::string_view(s.data, s.size); }

std::string shapeText(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}
}  // namespace

std::int32_t OutputSink::allocate(const ringserve_output_spec& spec, void** data, std::string& error) {
  *data = nullptr;
  const std::string name(view(spec.name));
  auto fail = [&](std::string m) {
    error = "output '" + name + "': " + std::move(m);
    return RINGSERVE_INTERNAL;
  };
  if (name.empty()) return fail("outputs need a name");
  for (const auto& o : outputs_)
    if (o.name == name) return fail("allocated twice");
  if (!isValidDataType(spec.datatype)) return fail("unknown datatype " + std::to_string(spec.datatype));
  if (spec.rank > kMaxRank || (spec.rank > 0 && spec.shape == nullptr)) return fail("invalid shape");
  std::vector<std::int64_t> shape(spec.shape, spec.shape + spec.rank);
  std::uint64_t count = 1;
  for (const auto d : shape) {
    if (d < 0) return fail("shape " + shapeText(shape) + " has a negative dimension");
    if (d != 0 && count > kMaxElements / static_cast<std::uint64_t>(d))
      return fail("shape " + shapeText(shape) + " is too large");
    count *= static_cast<std::uint64_t>(d);
  }
  const auto dt = static_cast<DataType>(spec.datatype);
  if (dt != DataType::BYTES && spec.size != count * elementSize(dt))
    return fail("shape " + shapeText(shape) + " of " + std::string(toString(dt)) + " needs " +
                std::to_string(count * elementSize(dt)) + " bytes, " + std::to_string(spec.size) + " were asked for");
  if (dt == DataType::BYTES && spec.size < 4 * count)
    return fail("shape " + shapeText(shape) + " needs at least " + std::to_string(4 * count) +
                " bytes of length prefixes, " + std::to_string(spec.size) + " were asked for");
  auto block = endpoint_->arena().allocate(spec.size + sizeof(kGuard));
  if (!block) {
    error = "output '" + name + "': " + block.error().message;
    return RINGSERVE_RESOURCE_EXHAUSTED;
  }
  blocks_.push_back(block.value());
  std::byte* p = endpoint_->at(block.value());
  std::memcpy(p + spec.size, &kGuard, sizeof kGuard);
  outputs_.push_back({name, spec.datatype, std::move(shape), block.value(), spec.size, std::string(view(spec.parameters_json))});
  *data = p;
  return RINGSERVE_OK;
}

std::optional<std::string> OutputSink::verify() const {
  for (const auto& o : outputs_) {
    const std::byte* p = endpoint_->at(o.offset);
    std::uint64_t guard = 0;
    std::memcpy(&guard, p + o.size, sizeof guard);
    if (guard != kGuard)
      return "output '" + o.name + "': the runtime wrote past the end of its " + std::to_string(o.size) + "-byte allocation";
    if (o.datatype != RINGSERVE_BYTES) continue;
    std::uint64_t expected = 1;
    for (const auto d : o.shape) expected *= static_cast<std::uint64_t>(d);
    const auto w = transport::walkBytes(std::span<const std::byte>(p, o.size));
    if (w.stop == transport::BytesWalk::Stop::truncatedLength)
      return "output '" + o.name + "': BYTES data ends inside a length prefix";
    if (w.stop == transport::BytesWalk::Stop::pastEnd) return "output '" + o.name + "': a BYTES element runs past the output";
    const std::uint64_t n = w.count;
    if (n != expected)
      return "output '" + o.name + "': shape " + shapeText(o.shape) + " needs " + std::to_string(expected) +
             " BYTES elements, the runtime wrote " + std::to_string(n);
  }
  return std::nullopt;
}

void OutputSink::freeAll() {
  for (const auto b : blocks_) endpoint_->arena().free(b);
  blocks_.clear();
  outputs_.clear();
}

}  // namespace ringserve::worker
