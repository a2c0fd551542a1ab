#pragma once
// How `ringserve ctl` prints replies: aligned tables for people, JSON (--json) for programs.
#include <string>

#include "protocol/control/control_protocol.hpp"

namespace ringserve::ctl {

using namespace ringserve::control;

// ok: the summary; list: NAME VERSION STATE REASON table; status: a server line, a ports line and
// a POOL WORKER PID STATE RESTARTS IN-FLIGHT SHM MODELS table. Ends with a newline.
std::string formatText(const Reply& r);
// {"ok": ...}, {"error": ...}, {"models": [...]}, or the status object. Ends with a newline.
std::string formatJson(const Reply& r);
// `message` on one line (for error output): each line break and the indentation after it become
// "; " (or one space after a colon), tabs become spaces.
std::string oneLine(std::string message);
// 1536 -> "1.5 KiB", 268435456 -> "256 MiB".
std::string humanBytes(std::uint64_t bytes);
// 3723.4 -> "1h 02m 03s".
std::string humanDuration(double seconds);

}  // namespace ringserve::ctl
