#include "transport/segment.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>

namespace ringserve::transport {

TransportError systemError(const std::string& what) {
  const int e = errno;
  return TransportError{ErrorCode::system, what + ": " + std::strerror(e), e};
}

namespace {

constexpr std::uint64_t alignUp(std::uint64_t v, std::uint64_t a) { return (v + a - 1) / a * a; }

}  // namespace

SegmentConfig SegmentConfig::fromShmSize(std::uint64_t shm_size, std::uint32_t lanes,
                                         std::uint32_t ring_slots) {
  SegmentConfig c;
  c.lane_count = lanes == 0 ? 1 : lanes;
  c.ring_slots = ring_slots;
  c.shm_size_setting = shm_size;
  const std::uint64_t half = shm_size / 2;
  c.request_arena_size = alignUp(half / c.lane_count, kRegionAlignment);
  c.response_arena_size = alignUp(shm_size - half, kRegionAlignment);
  return c;
}

SegmentLayout SegmentLayout::compute(const SegmentConfig& c) {
  SegmentLayout l{};
  l.lanes_offset = alignUp(sizeof(SegmentHeader), kCacheLine);
  l.rings_offset = alignUp(l.lanes_offset + std::uint64_t{c.lane_count} * sizeof(LaneControl), kCacheLine);
  const std::uint64_t ringsBytes = std::uint64_t{c.lane_count} * 2 * c.ring_slots * sizeof(Descriptor);
  l.request_arena_offset = alignUp(l.rings_offset + ringsBytes, kRegionAlignment);
  l.response_arena_offset =
      alignUp(l.request_arena_offset + std::uint64_t{c.lane_count} * c.request_arena_size, kRegionAlignment);
  l.total_size = alignUp(l.response_arena_offset + c.response_arena_size, kRegionAlignment);
  return l;
}

Segment::~Segment() { reset(); }

Segment::Segment(Segment&& other) noexcept
    : fd_(other.fd_), base_(other.base_), size_(other.size_), geometry_(other.geometry_) {
  other.fd_ = -1;
  other.base_ = nullptr;
  other.size_ = 0;
}

Segment& Segment::operator=(Segment&& other) noexcept {
  if (this != &other) {
    reset();
    fd_ = other.fd_;
    base_ = other.base_;
    size_ = other.size_;
    geometry_ = other.geometry_;
    other.fd_ = -1;
    other.base_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

void Segment::reset() {
  if (base_ != nullptr) ::munmap(base_, size_);
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  base_ = nullptr;
  size_ = 0;
  geometry_ = SegmentHeader{};
}

Result<Segment> Segment::create(const SegmentConfig& requested, const std::string& debugName) {
  // Arena sizes are rounded up to whole pages so that every lane's sub-arena starts aligned.
  SegmentConfig config = requested;
  config.request_arena_size = alignUp(config.request_arena_size, kRegionAlignment);
  config.response_arena_size = alignUp(config.response_arena_size, kRegionAlignment);
  if (config.lane_count == 0 || config.lane_count > 256)
    return makeError(ErrorCode::badHeader, "lane count must be 1..256, not " + std::to_string(config.lane_count));
  if (!std::has_single_bit(config.ring_slots) || config.ring_slots < 2)
    return makeError(ErrorCode::badHeader, "ring slots must be a power of two >= 2, not " +
                                               std::to_string(config.ring_slots));
  const SegmentLayout l = SegmentLayout::compute(config);

  int fd = ::memfd_create(debugName.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return systemError("memfd_create(" + debugName + ")");
  // memfds are created 0777; only this user may map ours.
  if (::fchmod(fd, 0600) != 0 || ::ftruncate(fd, static_cast<off_t>(l.total_size)) != 0) {
    auto e = systemError("sizing shared memory segment " + debugName + " to " + std::to_string(l.total_size) + " bytes");
    ::close(fd);
    return e;
  }
  // A peer that shrank the file would turn our next access into SIGBUS.
  if (::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
    auto e = systemError("sealing shared memory segment " + debugName);
    ::close(fd);
    return e;
  }
  void* p = ::mmap(nullptr, l.total_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    auto e = systemError("mmap of " + std::to_string(l.total_size) + " bytes of shared memory");
    ::close(fd);
    return e;
  }
  auto* base = static_cast<std::byte*>(p);
  // ftruncate gave zeroed pages; placement-new makes the header an object of its type.
  auto* h = new (base) SegmentHeader{};
  h->magic = kSegmentMagic;
  h->layout_version = kShmLayoutVersion;
  h->header_size = sizeof(SegmentHeader);
  h->total_size = l.total_size;
  h->lane_count = config.lane_count;
  h->ring_slots = config.ring_slots;
  h->descriptor_size = sizeof(Descriptor);
  h->lane_control_size = sizeof(LaneControl);
  h->lanes_offset = l.lanes_offset;
  h->rings_offset = l.rings_offset;
  h->request_arena_offset = l.request_arena_offset;
  h->request_arena_size = config.request_arena_size;
  h->response_arena_offset = l.response_arena_offset;
  h->response_arena_size = config.response_arena_size;
  h->creator_pid = static_cast<std::uint32_t>(::getpid());
  h->creator_uid = static_cast<std::uint32_t>(::geteuid());
  h->shm_size_setting = config.shm_size_setting != 0
                            ? config.shm_size_setting
                            : std::uint64_t{config.lane_count} * config.request_arena_size + config.response_arena_size;
  for (std::uint32_t k = 0; k < config.lane_count; ++k) new (base + l.lanes_offset + k * sizeof(LaneControl)) LaneControl{};
  Segment s(fd, base, l.total_size);
  s.geometry_ = *h;
  return s;
}

Status checkHeader(const SegmentHeader& h, std::size_t mappedSize) {
  auto bad = [](std::string m) { return makeError(ErrorCode::badHeader, std::move(m)); };
  if (h.magic != kSegmentMagic) return bad("not a ringserve segment (bad magic)");
  if (h.layout_version != kShmLayoutVersion)
    return bad("shared-memory layout version " + std::to_string(h.layout_version) + " does not match this build's " +
               std::to_string(kShmLayoutVersion));
  if (h.header_size != sizeof(SegmentHeader) || h.descriptor_size != sizeof(Descriptor) ||
      h.lane_control_size != sizeof(LaneControl))
    return bad("segment header, descriptor or lane sizes differ from this build's");
  if (h.total_size != mappedSize)
    return bad("segment header says " + std::to_string(h.total_size) + " bytes but the segment is " +
               std::to_string(mappedSize));
  if (h.lane_count == 0 || h.lane_count > 256 || !std::has_single_bit(h.ring_slots) || h.ring_slots < 2)
    return bad("segment header has an impossible lane count or ring size");
  SegmentConfig c;
  c.lane_count = h.lane_count;
  c.ring_slots = h.ring_slots;
  c.request_arena_size = h.request_arena_size;
  c.response_arena_size = h.response_arena_size;
  if (h.request_arena_size > mappedSize || h.response_arena_size > mappedSize)
    return bad("segment header arena sizes exceed the segment");
  if (h.request_arena_size % kRegionAlignment != 0 || h.response_arena_size % kRegionAlignment != 0)
    return bad("segment header arena sizes are not multiples of " + std::to_string(kRegionAlignment));
  const SegmentLayout l = SegmentLayout::compute(c);
  if (l.lanes_offset != h.lanes_offset || l.rings_offset != h.rings_offset ||
      l.request_arena_offset != h.request_arena_offset || l.response_arena_offset != h.response_arena_offset ||
      l.total_size != h.total_size)
    return bad("segment header offsets do not match its sizes (corrupt header)");
  return Ok{};
}

Result<Segment> Segment::open(int fd) {
  struct stat st {};
  auto fail = [fd](TransportError e) -> Result<Segment> {
    ::close(fd);
    return e;
  };
  if (::fstat(fd, &st) != 0) return fail(systemError("fstat of the shared memory fd"));
  if (st.st_uid != ::geteuid())
    return fail(makeError(ErrorCode::permissions, "shared memory segment belongs to uid " + std::to_string(st.st_uid) +
                                                      ", not to this process's uid " + std::to_string(::geteuid())));
  if ((st.st_mode & 0077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 0777));
    return fail(makeError(ErrorCode::permissions, std::string("shared memory segment is accessible to other users (mode ") +
                                                      mode + ", expected 0600)"));
  }
  const int seals = ::fcntl(fd, F_GET_SEALS);
  if (seals < 0 || (seals & (F_SEAL_SHRINK | F_SEAL_GROW)) != (F_SEAL_SHRINK | F_SEAL_GROW))
    return fail(makeError(ErrorCode::permissions, "shared memory segment is not sealed against resizing"));
  if (st.st_size < static_cast<off_t>(sizeof(SegmentHeader)))
    return fail(makeError(ErrorCode::badHeader, "shared memory segment is smaller than its header"));
  const auto size = static_cast<std::size_t>(st.st_size);
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return fail(systemError("mmap of the shared memory segment"));
  Segment s(fd, static_cast<std::byte*>(p), size);
  // Check a private copy: the creator could change the shared header between check and use.
  const SegmentHeader snapshot = s.header();
  if (auto st2 = checkHeader(snapshot, size); !st2) return st2.error();
  s.geometry_ = snapshot;
  return s;
}

LaneControl& Segment::lane(std::uint32_t k) const {
  return *reinterpret_cast<LaneControl*>(base_ + geometry_.lanes_offset + std::uint64_t{k} * sizeof(LaneControl));
}

Descriptor* Segment::requestSlots(std::uint32_t k) const {
  const auto& h = geometry_;
  return reinterpret_cast<Descriptor*>(base_ + h.rings_offset + std::uint64_t{k} * 2 * h.ring_slots * sizeof(Descriptor));
}

Descriptor* Segment::responseSlots(std::uint32_t k) const { return requestSlots(k) + geometry_.ring_slots; }

Segment::Region Segment::requestArena(std::uint32_t k) const {
  const auto& h = geometry_;
  return {h.request_arena_offset + std::uint64_t{k} * h.request_arena_size, h.request_arena_size};
}

Segment::Region Segment::responseArena() const {
  const auto& h = geometry_;
  return {h.response_arena_offset, h.response_arena_size};
}

Result<std::span<std::byte>> Segment::view(Region region, std::uint64_t offset, std::uint64_t len) const {
  if (!region.contains(offset, len) || region.offset + region.size > size_)
    return makeError(ErrorCode::corrupt, "offset " + std::to_string(offset) + " + " + std::to_string(len) +
                                             " bytes lies outside its arena [" + std::to_string(region.offset) + ", " +
                                             std::to_string(region.offset + region.size) + ")");
  return std::span<std::byte>(base_ + offset, static_cast<std::size_t>(len));
}

}  // namespace ringserve::transport
