#pragma once
// Remembers the SHA-256 of a tarball by (device, inode, size, mtime, ctime), so that a server
// restarting over a cached environment does not re-read a large tarball to find its key. ctime
// changes on every write and cannot be set from user space, so a modified tarball always misses.
// A fresh unpack re-hashes the bytes it extracts and refuses a mismatch, so a stale entry can
// never make the cache hold other content than its key says.
#include <filesystem>
#include <optional>
#include <string>

#include "supervisor/environments/env_error.hpp"

namespace ringserve::supervisor::environments {

// The digest of `tarball` (lower-case hex): from `cacheDir` when its stat identity matches,
// else computed and stored (best effort: a cache that cannot be written only costs time).
EnvResult<std::string> tarballDigest(const std::filesystem::path& tarball, const std::filesystem::path& cacheDir);
// Drops the entry of `tarball` (after a mismatch was found).
void forgetTarballDigest(const std::filesystem::path& tarball, const std::filesystem::path& cacheDir);

}  // namespace ringserve::supervisor::environments
