#pragma once
// Allocator for one arena region of a segment. Its bookkeeping lives in the private memory of the
// one process (and thread) that allocates from the region; the peer never touches it. That is how
// memory is freed across the process boundary without a shared lock:
//  - request blocks (supervisor lane -> worker) are freed by the lane when the worker's response
//    for that request arrives: the worker reads inputs only until it responds;
//  - response blocks (worker -> supervisor) are freed by the worker when the lane sends a `release`
//    descriptor for the request, after the reply has been written to the client.
// If the peer dies, the whole segment is discarded, so nothing the dead peer held needs freeing.
//
// Best fit over free blocks kept by size and by address; neighbours coalesce on free.
// Blocks are kArenaAlignment-aligned and sized in multiples of it. Not thread-safe.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "transport/error.hpp"

namespace ringserve::transport {

class ArenaAllocator {
 public:
  ArenaAllocator() = default;
  // Manages [offset, offset + size) of a segment; `what` names the arena in errors
  // ("request arena of lane 0"), `shmSizeSetting` is the setting quoted in them.
  ArenaAllocator(std::uint64_t offset, std::uint64_t size, std::string what, std::uint64_t shmSizeSetting);

  // Offset of a block of at least `bytes` (0 bytes gives a minimal block), or arenaFull with a
  // message naming shm_size, the request, the arena size and what is in use.
  Result<std::uint64_t> allocate(std::uint64_t bytes);
  // Frees a block returned by allocate(). An unknown offset is a bug here, not peer input (offsets
  // freed here never come from the peer): reported (transport/bug.hpp), counted, ignored.
  void free(std::uint64_t offset);
  // Gives every block back (e.g. a worker restart resets its arena).
  void reset();

  std::uint64_t used() const { return used_; }
  std::uint64_t size() const { return size_; }
  std::uint64_t largestFree() const;
  std::size_t blocks() const { return live_.size(); }
  std::uint64_t badFrees() const { return badFrees_; }
  std::uint64_t blockSize(std::uint64_t offset) const;  // 0 if not live

 private:
  void insertFree(std::uint64_t off, std::uint64_t len);
  void eraseFree(std::uint64_t off, std::uint64_t len);

  std::uint64_t offset_ = 0;
  std::uint64_t size_ = 0;
  std::string what_;
  std::uint64_t shmSizeSetting_ = 0;
  std::uint64_t used_ = 0;
  std::uint64_t badFrees_ = 0;
  std::map<std::uint64_t, std::uint64_t> freeByOffset_;            // offset -> length
  std::set<std::pair<std::uint64_t, std::uint64_t>> freeBySize_;   // (length, offset)
  std::map<std::uint64_t, std::uint64_t> live_;                    // offset -> length
};

// "1.5 MiB"
std::string formatBytes(std::uint64_t bytes);

}  // namespace ringserve::transport
