#pragma once
// Custom metrics from a runtime. They appear on the server's metrics endpoint labelled with the
// model's name and version (MLServer's `mlserver.register` / `mlserver.log`, plus counters and
// gauges). Safe to call from any thread while the model exists.
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "ringserve/abi.h"

namespace ringserve {

class Metrics {
 public:
  Metrics(const ringserve_host* host, ringserve_host_model* model) : host_(host), model_(model) {}

  void counterAdd(std::string_view name, double increment = 1.0, std::string_view help = {}) const;
  void gaugeSet(std::string_view name, double value, std::string_view help = {}) const;
  // Observes `value` in histogram `name`; `bounds` (ascending upper bounds) count only the first
  // time the name is seen; empty = Prometheus' default buckets.
  void observe(std::string_view name, double value, std::string_view help = {},
               const std::vector<double>& bounds = {}) const;
  // MLServer's mlserver.log(name=value): a histogram observation.
  void log(std::string_view name, double value) const { observe(name, value); }

 private:
  void send(std::uint32_t kind, std::string_view name, std::string_view help, double value,
            const std::vector<double>* bounds) const;
  const ringserve_host* host_;
  ringserve_host_model* model_;
};

enum class LogLevel { debug = RINGSERVE_LOG_DEBUG, info = RINGSERVE_LOG_INFO, warn = RINGSERVE_LOG_WARN, error = RINGSERVE_LOG_ERROR };

}  // namespace ringserve
