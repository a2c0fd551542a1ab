#include "worker/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>

#include <cstdio>

namespace ringserve::worker {

namespace {
std::string gWorkerId;
bool gJson = false;

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}
}  // namespace

void initLogging(const std::string& workerId, const std::string& level, bool json) {
  gWorkerId = workerId;
  gJson = json;
  auto logger = spdlog::stderr_logger_mt("worker");
  if (json)
    logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%e","level":"%l","pid":%P,%v})");
  else
    logger->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%l] %v");
  logger->set_level(spdlog::level::from_str(level == "warning" ? "warn" : level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

void logLine(spdlog::level::level_enum level, std::string_view model, std::string_view message) {
  if (!spdlog::should_log(level)) return;
  if (gJson) {
    std::string body = "\"worker\":" + quote(gWorkerId);
    if (!model.empty()) body += ",\"model\":" + quote(model);
    body += ",\"message\":" + quote(message);
    spdlog::log(level, "{}", body);
  } else if (model.empty()) {
    spdlog::log(level, "[worker {}] {}", gWorkerId, message);
  } else {
    spdlog::log(level, "[worker {}] [model {}] {}", gWorkerId, model, message);
  }
}

}  // namespace ringserve::worker
