#pragma once
// One worker's shared-memory segment: an anonymous memfd (no name in /dev/shm, so nothing to leak
// after SIGKILL and no Docker 64 MiB /dev/shm cap), mode 0600, sealed against resizing, mapped
// MAP_SHARED. The supervisor creates it and hands the fd to the worker across exec; the worker
// opens it and checks the header before trusting anything in it.
//
// Move-only RAII: the destructor unmaps and closes. Because the memfd has no name, the memory is
// returned to the system when the last process holding it (fd or mapping) is gone.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "transport/error.hpp"
#include "transport/layout.hpp"

namespace ringserve::transport {

class Segment {
 public:
  Segment() = default;
  ~Segment();
  Segment(Segment&& other) noexcept;
  Segment& operator=(Segment&& other) noexcept;
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;

  // `debugName` shows up in /proc/<pid>/fd as "memfd:<debugName>".
  static Result<Segment> create(const SegmentConfig& config, const std::string& debugName);
  // Maps an inherited fd and checks owner, mode, seals, size, magic and layout version.
  // Takes ownership of `fd` (closed on failure too).
  static Result<Segment> open(int fd);

  bool valid() const { return base_ != nullptr; }
  int fd() const { return fd_; }
  std::byte* base() const { return base_; }
  std::size_t size() const { return size_; }
  // The live header in shared memory: only its wake words are meant to change, but the peer can
  // write anything there, so geometry is never read from it after create/open.
  SegmentHeader& header() const { return *reinterpret_cast<SegmentHeader*>(base_); }
  // The header as it was checked at create/open, in private memory the peer cannot change. Every
  // offset this class hands out is computed from it.
  const SegmentHeader& geometry() const { return geometry_; }
  LaneControl& lane(std::uint32_t k) const;
  Descriptor* requestSlots(std::uint32_t k) const;
  Descriptor* responseSlots(std::uint32_t k) const;

  // Region of the segment the supervisor side of lane k allocates from, and the worker's region.
  struct Region {
    std::uint64_t offset = 0;
    std::uint64_t size = 0;
    bool contains(std::uint64_t off, std::uint64_t len) const {
      return off >= offset && len <= size && off - offset <= size - len;
    }
  };
  Region requestArena(std::uint32_t k) const;
  Region responseArena() const;

  // A checked view of [offset, offset+len) inside `region`; empty span + error when out of bounds.
  Result<std::span<std::byte>> view(Region region, std::uint64_t offset, std::uint64_t len) const;

 private:
  Segment(int fd, std::byte* base, std::size_t size) : fd_(fd), base_(base), size_(size) {}
  void reset();

  int fd_ = -1;
  std::byte* base_ = nullptr;
  std::size_t size_ = 0;
  SegmentHeader geometry_{};
};

// Validates a header against what this build expects and against the mapped size; the message
// names both versions or both sizes. Exposed for tests.
Status checkHeader(const SegmentHeader& h, std::size_t mappedSize);

}  // namespace ringserve::transport
