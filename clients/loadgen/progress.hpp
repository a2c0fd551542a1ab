#pragma once
// The live status line on stderr: rewritten in place with '\r' on a terminal, one plain line per
// update otherwise (logs, CI, tests).
#include <string>

namespace ringserve::loadgen {

class ProgressLine {
 public:
  explicit ProgressLine(bool enabled);
  void update(const std::string& text);
  // Ends an in-place line so that what follows starts on a fresh line.
  void finish();

 private:
  bool enabled_;
  bool tty_;
  bool open_ = false;
  std::size_t lastWidth_ = 0;
};

}  // namespace ringserve::loadgen
