#pragma once
// Extraction of one tar archive (plain, gzip, zstd, xz, bzip2) into a folder that nothing else
// uses yet, refusing every entry that could write or point outside it
// (docs/environments.md#the-cache). The caller owns the folder: on error it is left as is (partly
// written) for the caller to remove.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "supervisor/environments/env_error.hpp"
#include "supervisor/environments/limits.hpp"

namespace ringserve::supervisor::environments {

struct ExtractStats {
  std::uint64_t bytes = 0;  // regular-file bytes written
  std::uint64_t entries = 0;
  std::string sha256;  // of every byte of the archive file, read in the same pass
};

// `dest` must be an existing, empty, canonical (symlink-free) folder. Errors: naming the entry
// for an unsafe entry (absolute path, `..`, a link pointing outside, device node, FIFO, socket,
// set-uid/set-gid bit), for an archive past `limits`, and for a corrupt, truncated or non-tar
// file; when `archive` does not exist; I/O errors on the destination (disk full).
EnvResult<ExtractStats> extractArchive(const std::filesystem::path& archive, const std::filesystem::path& dest,
                                       const Limits& limits, const ProgressFn& progress);

// "a/./b/" -> "a/b". Empty for "." or "./". Error text (no entry name) for an absolute path or a
// `..` component. Exposed for tests.
EnvResult<std::string> normalizeEntryPath(std::string_view path);

}  // namespace ringserve::supervisor::environments
