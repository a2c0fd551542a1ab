#include "supervisor/codec/evbuffer_io.hpp"

namespace ringserve::supervisor::codec {

std::uint64_t EvbufferBody::size() const { return evbuffer_get_length(buffer_); }

void EvbufferBody::copyOut(std::uint64_t offset, std::span<std::byte> dst) const {
  if (dst.empty()) return;
  evbuffer_ptr pos;
  evbuffer_ptr_set(buffer_, &pos, static_cast<std::size_t>(offset), EVBUFFER_PTR_SET);
  evbuffer_copyout_from(buffer_, &pos, dst.data(), dst.size());
}

void EvbufferSink::appendCopy(std::string_view bytes) {
  if (!bytes.empty()) evbuffer_add(buffer_, bytes.data(), bytes.size());
}

void EvbufferSink::appendReference(std::span<const std::byte> bytes) {
  if (bytes.empty()) return;
  evbuffer_add_reference(buffer_, bytes.data(), bytes.size(), cleanup_, arg_);
  ++references_;
}

}  // namespace ringserve::supervisor::codec
