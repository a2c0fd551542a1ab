#include "supervisor/cli/logging.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace ringserve::cli {

void setUpLogging(bool debug, bool json) {
  auto logger = spdlog::stderr_color_mt("ringserve");
  spdlog::set_default_logger(logger);
  spdlog::set_level(debug ? spdlog::level::debug : spdlog::level::info);
  if (json)
    spdlog::set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","process":"supervisor","pid":%P,"message":"%v"})");
  else
    spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ [supervisor] %v");
}

}  // namespace ringserve::cli
