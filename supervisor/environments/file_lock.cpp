#include "supervisor/environments/file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>
#include <cstring>

namespace ringserve::supervisor::environments {

EnvResult<FileLock> FileLock::acquire(const std::filesystem::path& lockFile) {
  transport::UniqueFd fd(::open(lockFile.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return EnvError{"cannot create lock file " + lockFile.string() + ": " + std::strerror(errno)};
  while (::flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return EnvError{"cannot lock " + lockFile.string() + ": " + std::strerror(errno)};
  }
  return FileLock(std::move(fd));
}

}  // namespace ringserve::supervisor::environments
