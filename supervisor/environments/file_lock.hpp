#pragma once
// An exclusive flock(2) on a lock file, held for the object's lifetime. flock locks belong to the
// open file description, so two servers (processes) sharing an environments_dir exclude each
// other, and the kernel drops the lock when a holder dies: a crashed unpacker never wedges the
// cache. The lock file itself is left in place (deleting it would race with a waiting locker).
#include <filesystem>

#include "supervisor/environments/env_error.hpp"
#include "transport/unique_fd.hpp"

namespace ringserve::supervisor::environments {

class FileLock {
 public:
  // Blocks until the lock is held. An error naming the file when it cannot be created or locked.
  static EnvResult<FileLock> acquire(const std::filesystem::path& lockFile);
  FileLock(FileLock&&) noexcept = default;
  FileLock& operator=(FileLock&&) noexcept = default;

 private:
  explicit FileLock(transport::UniqueFd fd) : fd_(std::move(fd)) {}
  transport::UniqueFd fd_;
};

}  // namespace ringserve::supervisor::environments
