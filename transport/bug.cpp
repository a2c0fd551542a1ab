#include "transport/bug.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <string>

namespace ringserve::transport {

namespace {

std::atomic<std::uint64_t> reports{0};
std::atomic<int> expectations{0};
std::mutex sinkMutex;

std::function<void(std::string_view)>& sink() {
  static std::function<void(std::string_view)> s;
  return s;
}

void toStderr(std::string_view line) {
  std::string text(line);
  text += '\n';
  [[maybe_unused]] const auto n = ::write(STDERR_FILENO, text.data(), text.size());
}

}  // namespace

void reportBug(std::string_view where, std::string_view what) {
  reports.fetch_add(1, std::memory_order_relaxed);
  std::string line = "BUG in ringserve (";
  line += where;
  line += "): ";
  line += what;
  line += "; please report it (the process goes on with a safe fallback)";
  {
    std::lock_guard lock(sinkMutex);
    if (sink())
      sink()(line);
    else
      toStderr(line);
  }
#ifndef NDEBUG
  if (expectations.load(std::memory_order_acquire) == 0) {
    toStderr("debug build: aborting on the bug above");
    std::abort();
  }
#endif
}

std::uint64_t bugCount() { return reports.load(std::memory_order_relaxed); }

void setBugSink(std::function<void(std::string_view)> s) {
  std::lock_guard lock(sinkMutex);
  sink() = std::move(s);
}

ScopedBugExpectation::ScopedBugExpectation() : before_(bugCount()) {
  expectations.fetch_add(1, std::memory_order_acq_rel);
}

ScopedBugExpectation::~ScopedBugExpectation() { expectations.fetch_sub(1, std::memory_order_acq_rel); }

std::uint64_t ScopedBugExpectation::reported() const { return bugCount() - before_; }

}  // namespace ringserve::transport
