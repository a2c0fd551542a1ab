#pragma once
// The bug channel: what to do when ringserve's own invariant breaks.
//
// Two kinds of "this should not happen" (DEVELOPERS.md, "Bugs and bad input"):
//   - bad input: bytes, files or answers from a peer (a client, a worker, a tarball, a runtime).
//     Always handled: an error value, a 4xx/5xx, a log line naming who sent it. Never a bug report.
//   - a bug here: an invariant of our own code is broken (e.g. freeing an arena offset we never
//     allocated; offsets freed there never come from the peer). reportBug():
//       debug builds   abort at once, so the test that got there fails where it happened;
//       release builds log one line per report through the installed sink, count it
//                      (the supervisor exports ringserve_bugs_total) and let the caller continue
//                      with its safe fallback (e.g. ignore the free).
// Tests that provoke a bug on purpose hold a ScopedBugExpectation, which turns the abort off and
// counts what was reported while it lives.
//
// Threads: every function may be called from any thread.
#include <cstdint>
#include <functional>
#include <string_view>

namespace ringserve::transport {

// `where`: the component and function ("arena free"); `what`: what broke, with the values.
void reportBug(std::string_view where, std::string_view what);

// Reports since the process started.
std::uint64_t bugCount();

// Where a report's line goes (default: stderr). The supervisor and the worker install their logger.
void setBugSink(std::function<void(std::string_view line)> sink);

class ScopedBugExpectation {
 public:
  ScopedBugExpectation();
  ~ScopedBugExpectation();
  ScopedBugExpectation(const ScopedBugExpectation&) = delete;
  ScopedBugExpectation& operator=(const ScopedBugExpectation&) = delete;
  // Reports made while this lived (by any thread).
  std::uint64_t reported() const;

 private:
  std::uint64_t before_;
};

}  // namespace ringserve::transport

// A check of our own invariant: `cond` true means a bug; reports it and evaluates to true, so the
// caller writes its fallback:  if (RINGSERVE_BUG_IF(it == end, "arena free", "offset " + ...)) return;
// The message expression is evaluated only when the bug happened.
#define RINGSERVE_BUG_IF(cond, where, what) \
  ((cond) ? (::ringserve::transport::reportBug((where), (what)), true) : false)
