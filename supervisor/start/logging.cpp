#include "supervisor/start/logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string>

#include "supervisor/codec/json_text.hpp"
#include "transport/bug.hpp"

namespace ringserve::cli {

namespace {
// %j: the message as a JSON string literal (quotes included), so structured log lines stay valid
// JSON whatever a model name or runtime error contains.
class JsonMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    std::string s;
    supervisor::codec::appendJsonStringRepaired(s, std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(s.data(), s.data() + s.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JsonMessageFlag>(); }
};
}  // namespace

void setUpLogging(bool debug, bool json) {
  auto logger = spdlog::stderr_color_mt("ringserve");
  spdlog::set_default_logger(logger);
  transport::setBugSink([](std::string_view line) { spdlog::error("{}", line); });
  spdlog::set_level(debug ? spdlog::level::debug : spdlog::level::info);
  if (json) {
    auto f = std::make_unique<spdlog::pattern_formatter>();
    f->add_flag<JsonMessageFlag>('j').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","process":"supervisor","pid":%P,"message":%j})");
    spdlog::set_formatter(std::move(f));
  } else {
    spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ [supervisor] %v");
  }
}

}  // namespace ringserve::cli
