#pragma once
// Test helper: while a FdExhaustion lives, this process cannot open another file descriptor
// (EMFILE): the soft RLIMIT_NOFILE is lowered to just above the highest descriptor in use and every
// free number below it is taken by a /dev/null descriptor. The destructor closes those and restores
// the limit. Other threads of the process are affected too, which is the point (a server running
// in-process sees what fd exhaustion does to it).
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <dirent.h>

#include <vector>

namespace ringserve::testing {

class FdExhaustion {
 public:
  FdExhaustion() {
    ::getrlimit(RLIMIT_NOFILE, &saved_);
    int highest = 2;
    if (DIR* d = ::opendir("/proc/self/fd")) {
      while (dirent* e = ::readdir(d)) highest = std::max(highest, std::atoi(e->d_name));
      ::closedir(d);
    }
    rlimit low = saved_;
    low.rlim_cur = static_cast<rlim_t>(highest + 1);
    ::setrlimit(RLIMIT_NOFILE, &low);
    for (;;) {
      const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (fd < 0) break;  // EMFILE: the table is full
      held_.push_back(fd);
    }
  }
  ~FdExhaustion() {
    for (int fd : held_) ::close(fd);
    ::setrlimit(RLIMIT_NOFILE, &saved_);
  }
  FdExhaustion(const FdExhaustion&) = delete;
  FdExhaustion& operator=(const FdExhaustion&) = delete;

 private:
  rlimit saved_{};
  std::vector<int> held_;
};

}  // namespace ringserve::testing
