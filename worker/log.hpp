#pragma once
// Worker logging: spdlog to stderr, every line naming the worker and, where there is one, the
// model ("[worker default/0] [model iris:1] ..."), or one JSON object per line with --json-logs.
#include <spdlog/spdlog.h>

#include <string>
#include <string_view>

namespace ringserve::worker {

void initLogging(const std::string& workerId, const std::string& level, bool json);
// `model` may be empty.
void logLine(spdlog::level::level_enum level, std::string_view model, std::string_view message);

template <class... A>
void logInfo(std::string_view model, fmt::format_string<A...> f, A&&... a) {
  logLine(spdlog::level::info, model, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void logWarn(std::string_view model, fmt::format_string<A...> f, A&&... a) {
  logLine(spdlog::level::warn, model, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void logError(std::string_view model, fmt::format_string<A...> f, A&&... a) {
  logLine(spdlog::level::err, model, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void logDebug(std::string_view model, fmt::format_string<A...> f, A&&... a) {
  if (spdlog::should_log(spdlog::level::debug)) logLine(spdlog::level::debug, model, fmt::format(f, std::forward<A>(a)...));
}

}  // namespace ringserve::worker
