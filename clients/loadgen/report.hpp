#pragma once
// What `bench` writes: the summary table (stdout), CSV and an SVG plot, either over time (one
// row per second of a run) or over a sweep (one row per step).
#include <iosfwd>
#include <string>
#include <vector>

#include "clients/loadgen/bench_run.hpp"

namespace ringserve::loadgen {

struct ReportRow {
  double x = 0;            // second, concurrency or payload bytes
  double seconds = 0;      // how long the row covers
  std::uint64_t ok = 0;
  std::uint64_t errors = 0;
  double rps = 0;          // (ok + errors) / seconds
  double meanMs = 0, p50Ms = 0, p90Ms = 0, p99Ms = 0, p999Ms = 0, maxMs = 0;  // ok requests
};

ReportRow rowOf(double x, double seconds, std::uint64_t ok, std::uint64_t errors, const Histogram& h);
// One row per second of the measured phase (the last one may be partial).
std::vector<ReportRow> timelineRows(const RunResult& r);

// The human summary: requests, requests/s, errors by status/reason, latency percentiles.
void printSummary(std::ostream& out, const RunResult& r, const std::string& title);
// One line per sweep step.
void printSweepTable(std::ostream& out, const std::string& xName, const std::vector<ReportRow>& rows);

// Throw LoadgenError if the file cannot be written.
void writeCsv(const std::string& path, const std::string& xName, const std::vector<ReportRow>& rows);
void writeSvg(const std::string& path, const std::string& title, const std::string& xName,
              const std::vector<ReportRow>& rows);

}  // namespace ringserve::loadgen
