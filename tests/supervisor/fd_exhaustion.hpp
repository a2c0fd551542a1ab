#pragma once
// Test helper: while a FdExhaustion lives, this process cannot open another file descriptor
// (EMFILE): the soft RLIMIT_NOFILE is lowered to just above the highest descriptor in use and every
// free number below it is taken by a /dev/null descriptor. The destructor closes those and restores
// the limit. Other threads of the process are affected too, which is the point (a server running
// in-process sees what fd exhaustion does to it). `leaveFree` numbers stay free: UBSan's runtime
// opens a pipe to check memory before it prints a vptr report and, with none free, reports every
// polymorphic access as invalid (false positives under the asan preset); two free descriptors are
// still fewer than a worker spawn needs (memfd, eventfd, socketpair, exec-status pipe).
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <dirent.h>

#include <vector>

namespace ringserve::testing {

class FdExhaustion {
 public:
  explicit FdExhaustion(int leaveFree = 0) {
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
    for (int k = 0; k < leaveFree && !held_.empty(); ++k) {
      ::close(held_.back());
      held_.pop_back();
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
