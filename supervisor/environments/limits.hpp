#pragma once
// What an unpack may cost, and how it reports progress.
#include <cstdint>
#include <functional>

namespace ringserve::supervisor::environments {

struct Limits {
  // Regular-file bytes once unpacked; an archive that expands past it is refused (zip bombs).
  std::uint64_t maxBytes = 16ull << 30;
  // Entries of any kind (files, folders, links).
  std::uint64_t maxEntries = 1'000'000;
  // syncfs() before the completion marker is written, so a power loss cannot leave a "complete"
  // unpack with lost file data. Off only for benchmarks that compare with `tar -x`.
  bool syncBeforeCommit = true;
  // Tests only: called before each data block is written with the bytes written so far; returning
  // false makes that write fail as if the disk were full (ENOSPC).
  std::function<bool(std::uint64_t writtenBytes)> writeHook;
};

// Progress of one unpack: bytes of the tarball consumed so far, out of its size. Called from the
// preparing thread after every read (about 1 MiB), so it must be cheap; see logProgress().
using ProgressFn = std::function<void(std::uint64_t done, std::uint64_t total)>;

}  // namespace ringserve::supervisor::environments
