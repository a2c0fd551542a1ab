#include "clients/loadgen/progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace ringserve::loadgen {

ProgressLine::ProgressLine(bool enabled) : enabled_(enabled), tty_(isatty(STDERR_FILENO) == 1) {}

void ProgressLine::update(const std::string& text) {
  if (!enabled_) return;
  if (tty_) {
    std::string padded = text;
    if (padded.size() < lastWidth_) padded.append(lastWidth_ - padded.size(), ' ');
    lastWidth_ = text.size();
    std::fprintf(stderr, "\r%s", padded.c_str());
    open_ = true;
  } else {
    std::fprintf(stderr, "%s\n", text.c_str());
  }
  std::fflush(stderr);
}

void ProgressLine::finish() {
  if (open_) std::fprintf(stderr, "\n");
  open_ = false;
  lastWidth_ = 0;
  std::fflush(stderr);
}

}  // namespace ringserve::loadgen
