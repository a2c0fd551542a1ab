#include "ringserve/metrics.hpp"

namespace ringserve {

namespace {
ringserve_string str(std::string_view s) { return {s.data(), s.size()}; }
}  // namespace

void Metrics::send(std::uint32_t kind, std::string_view name, std::string_view help, double value,
                   const std::vector<double>* bounds) const {
  if (host_ == nullptr || host_->metric == nullptr) return;
  ringserve_metric m{};
  m.kind = kind;
  m.name = str(name);
  m.help = str(help);
  m.value = value;
  if (bounds != nullptr && !bounds->empty()) {
    m.bucket_bounds = bounds->data();
    m.bucket_count = static_cast<std::uint32_t>(bounds->size());
  }
  host_->metric(model_, &m);
}

void Metrics::counterAdd(std::string_view name, double increment, std::string_view help) const {
  send(RINGSERVE_METRIC_COUNTER, name, help, increment, nullptr);
}

void Metrics::gaugeSet(std::string_view name, double value, std::string_view help) const {
  send(RINGSERVE_METRIC_GAUGE, name, help, value, nullptr);
}

void Metrics::observe(std::string_view name, double value, std::string_view help, const std::vector<double>& bounds) const {
  send(RINGSERVE_METRIC_HISTOGRAM, name, help, value, &bounds);
}

}  // namespace ringserve
