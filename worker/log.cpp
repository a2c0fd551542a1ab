#include "worker/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>

#include "transport/bug.hpp"
#include "transport/json_text.hpp"

namespace ringserve::worker {

namespace {
std::string gWorkerId;
bool gJson = false;

// A JSON string literal; a message is not trusted to be UTF-8 (a runtime's text, a path).
std::string quote(std::string_view s) {
  std::string out;
  transport::appendJsonStringRepaired(out, s);
  return out;
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
  transport::setBugSink([](std::string_view line) { logLine(spdlog::level::err, "", line); });
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
