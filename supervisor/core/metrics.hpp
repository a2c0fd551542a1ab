#pragma once
// Prometheus metrics. Hot-path children (a counter or histogram for one label set) are looked up
// once and kept (e.g. per model route), then updated with relaxed atomics from any thread; the
// family's mutex is taken only to create a child and to render. Gauges that describe state owned
// elsewhere (shared-memory use, ring occupancy, runtimes' custom metrics) come from collectors
// called at scrape time.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace ringserve::supervisor {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void inc(std::uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

class Gauge {
 public:
  void set(double v) { v_.store(v, std::memory_order_relaxed); }
  void add(double d);
  double value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);
  struct Snapshot {
    std::vector<double> bounds;
    std::vector<std::uint64_t> cumulative;  // one per bound, then +Inf
    double sum = 0;
    std::uint64_t count = 0;
  };
  Snapshot snapshot() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // bounds_.size() + 1
  std::atomic<double> sum_{0};
};

// Latency buckets in seconds (Prometheus client defaults plus sub-millisecond ones).
const std::vector<double>& latencyBuckets();
// Buckets for queue sizes / in-flight counts.
const std::vector<double>& queueBuckets();
// Buckets for rows per batch: 1, 2, 4, ... 1024.
const std::vector<double>& batchBuckets();

class MetricsRegistry {
 public:
  Counter& counter(const std::string& name, const std::string& help, const Labels& labels);
  Gauge& gauge(const std::string& name, const std::string& help, const Labels& labels);
  Histogram& histogram(const std::string& name, const std::string& help, const Labels& labels,
                       const std::vector<double>& bounds = latencyBuckets());

  // A collector appends exposition text (complete families, with HELP/TYPE) at scrape time.
  using Collector = std::function<void(std::string& out)>;
  void addCollector(Collector c);

  std::string render() const;

 private:
  struct Family {
    std::string help, type;
    std::vector<double> bounds;
    std::map<Labels, std::unique_ptr<Counter>> counters;
    std::map<Labels, std::unique_ptr<Gauge>> gauges;
    std::map<Labels, std::unique_ptr<Histogram>> histograms;
  };
  Family& family(const std::string& name, const std::string& help, const char* type);

  mutable std::mutex mutex_;
  std::map<std::string, Family> families_;
  std::vector<Collector> collectors_;
};

// Prometheus text helpers for collectors.
std::string formatLabels(const Labels& labels);
std::string formatDouble(double v);
void appendHistogram(std::string& out, const std::string& name, const Labels& labels, const Histogram::Snapshot& s);

}  // namespace ringserve::supervisor
