#include "clients/loadgen/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <ostream>
#include <sstream>

#include "clients/loadgen/error.hpp"

namespace ringserve::loadgen {
namespace {

double ms(std::uint64_t ns) { return double(ns) / 1e6; }

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string xmlEscape(const std::string& s) {
  std::string out;
  for (const char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// A "nice" step (1, 2 or 5 times a power of ten) giving about `target` ticks over [0, hi].
double niceStep(double hi, int target) {
  if (hi <= 0) return 1;
  const double raw = hi / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  for (const double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * mag) return m * mag;
  return 10 * mag;
}

std::string tickLabel(double v) {
  if (v >= 1e6 && std::fmod(v, 1e6) == 0) return fixed(v / 1e6, 0) + "M";
  if (v >= 1e3 && std::fmod(v, 1e3) == 0) return fixed(v / 1e3, 0) + "k";
  if (v == std::floor(v)) return fixed(v, 0);
  if (v >= 0.1) return fixed(v, 1);
  if (v >= 0.01) return fixed(v, 2);
  return fixed(v, 3);
}

struct Series {
  std::string name;
  std::string color;
  std::vector<double> values;
};

// One panel: axes, ticks, grid, labels, a polyline and markers per series, a legend.
void panel(std::ostream& o, double left, double top, double width, double height, const std::vector<double>& xs,
           bool categoricalX, const std::string& xName, const std::string& yName, const std::vector<Series>& series) {
  double yMax = 0;
  for (const Series& s : series)
    for (const double v : s.values) yMax = std::max(yMax, v);
  const double yStep = niceStep(yMax > 0 ? yMax : 1, 5);
  const double yTop = std::max(yStep, std::ceil((yMax > 0 ? yMax : 1) / yStep) * yStep);
  const double xMin = categoricalX ? 0 : (xs.empty() ? 0 : std::min(0.0, *std::min_element(xs.begin(), xs.end())));
  const double xMaxRaw = categoricalX ? double(std::max<std::size_t>(xs.size(), 2) - 1)
                                      : (xs.empty() ? 1 : *std::max_element(xs.begin(), xs.end()));
  const double xMax = xMaxRaw > xMin ? xMaxRaw : xMin + 1;
  const auto px = [&](std::size_t i) {
    const double v = categoricalX ? double(i) : xs[i];
    return left + (v - xMin) / (xMax - xMin) * width;
  };
  const auto py = [&](double v) { return top + height - v / yTop * height; };

  o << "<g font-family=\"sans-serif\" font-size=\"12\">\n";
  o << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << width << "\" height=\"" << height
    << "\" fill=\"none\" stroke=\"#333\"/>\n";
  for (double v = 0; v <= yTop * 1.0001; v += yStep) {
    const double y = py(v);
    o << "<line x1=\"" << left << "\" y1=\"" << y << "\" x2=\"" << left + width << "\" y2=\"" << y
      << "\" stroke=\"#ddd\"/>\n";
    o << "<text x=\"" << left - 6 << "\" y=\"" << y + 4 << "\" text-anchor=\"end\">" << tickLabel(v) << "</text>\n";
  }
  if (categoricalX) {
    for (std::size_t i = 0; i < xs.size(); ++i)
      o << "<text x=\"" << px(i) << "\" y=\"" << top + height + 16 << "\" text-anchor=\"middle\">" << tickLabel(xs[i])
        << "</text>\n";
  } else {
    const double xStep = niceStep(xMax - xMin, 8);
    for (double v = std::ceil(xMin / xStep) * xStep; v <= xMax * 1.0001; v += xStep) {
      const double x = left + (v - xMin) / (xMax - xMin) * width;
      o << "<line x1=\"" << x << "\" y1=\"" << top + height << "\" x2=\"" << x << "\" y2=\"" << top + height + 4
        << "\" stroke=\"#333\"/>\n";
      o << "<text x=\"" << x << "\" y=\"" << top + height + 16 << "\" text-anchor=\"middle\">" << tickLabel(v)
        << "</text>\n";
    }
  }
  o << "<text x=\"" << left + width / 2 << "\" y=\"" << top + height + 34 << "\" text-anchor=\"middle\">"
    << xmlEscape(xName) << "</text>\n";
  o << "<text transform=\"translate(" << left - 52 << "," << top + height / 2 << ") rotate(-90)\" text-anchor=\"middle\">"
    << xmlEscape(yName) << "</text>\n";
  double legendX = left + 10;
  for (const Series& s : series) {
    if (!s.values.empty()) {
      o << "<polyline fill=\"none\" stroke=\"" << s.color << "\" stroke-width=\"2\" points=\"";
      for (std::size_t i = 0; i < s.values.size(); ++i) o << (i ? " " : "") << px(i) << "," << py(s.values[i]);
      o << "\"/>\n";
      for (std::size_t i = 0; i < s.values.size(); ++i)
        o << "<circle cx=\"" << px(i) << "\" cy=\"" << py(s.values[i]) << "\" r=\"2.5\" fill=\"" << s.color << "\"/>\n";
    }
    o << "<rect x=\"" << legendX << "\" y=\"" << top + 8 << "\" width=\"12\" height=\"12\" fill=\"" << s.color << "\"/>\n";
    o << "<text x=\"" << legendX + 16 << "\" y=\"" << top + 18 << "\">" << xmlEscape(s.name) << "</text>\n";
    legendX += 90;
  }
  o << "</g>\n";
}

}  // namespace

ReportRow rowOf(double x, double seconds, std::uint64_t ok, std::uint64_t errors, const Histogram& h) {
  ReportRow r;
  r.x = x;
  r.seconds = seconds;
  r.ok = ok;
  r.errors = errors;
  r.rps = seconds > 0 ? double(ok + errors) / seconds : 0;
  r.meanMs = h.mean() / 1e6;
  r.p50Ms = ms(h.quantile(0.50));
  r.p90Ms = ms(h.quantile(0.90));
  r.p99Ms = ms(h.quantile(0.99));
  r.p999Ms = ms(h.quantile(0.999));
  r.maxMs = ms(h.max());
  return r;
}

std::vector<ReportRow> timelineRows(const RunResult& r) {
  std::vector<ReportRow> rows;
  for (std::size_t i = 0; i < r.timeline.size(); ++i) {
    const Interval& iv = r.timeline[i];
    const double covered = std::clamp(r.elapsedS - double(i), 0.0, 1.0);
    if (covered <= 0) continue;
    rows.push_back(rowOf(double(i + 1) - 1 + covered, covered, iv.ok, iv.errors, iv.latency));
  }
  return rows;
}

void printSummary(std::ostream& out, const RunResult& r, const std::string& title) {
  const Histogram& h = r.latency;
  out << title << "\n";
  out << "  requests      " << r.sent << " sent, " << r.ok << " ok, " << r.errors() << " errors in "
      << fixed(r.elapsedS, 2) << " s\n";
  out << "  requests/s    " << fixed(r.rps(), 1) << "\n";
  out << "  received      " << fixed(double(r.bytesIn) / 1e6 / std::max(r.elapsedS, 1e-9), 2) << " MB/s\n";
  for (const auto& [status, n] : r.httpErrors) out << "  status " << status << "    " << n << "\n";
  for (const auto& [reason, n] : r.otherErrors) out << "  error         " << n << " x " << reason << "\n";
  out << "  latency (ms)  mean " << fixed(h.mean() / 1e6, 3) << "  p50 " << fixed(ms(h.quantile(0.5)), 3) << "  p90 "
      << fixed(ms(h.quantile(0.9)), 3) << "  p99 " << fixed(ms(h.quantile(0.99)), 3) << "  p99.9 "
      << fixed(ms(h.quantile(0.999)), 3) << "  max " << fixed(ms(h.max()), 3) << "\n";
}

void printSweepTable(std::ostream& out, const std::string& xName, const std::vector<ReportRow>& rows) {
  char line[256];
  std::snprintf(line, sizeof line, "%12s %12s %10s %8s %9s %9s %9s %9s %9s\n", xName.c_str(), "requests/s", "ok",
                "errors", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms");
  out << line;
  for (const ReportRow& r : rows) {
    std::snprintf(line, sizeof line, "%12s %12.1f %10llu %8llu %9.3f %9.3f %9.3f %9.3f %9.3f\n", tickLabel(r.x).c_str(),
                  r.rps, static_cast<unsigned long long>(r.ok), static_cast<unsigned long long>(r.errors), r.p50Ms,
                  r.p90Ms, r.p99Ms, r.p999Ms, r.maxMs);
    out << line;
  }
}

void writeCsv(const std::string& path, const std::string& xName, const std::vector<ReportRow>& rows) {
  std::ofstream f(path);
  if (!f) throw LoadgenError("cannot write " + path);
  f << xName << ",seconds,ok,errors,requests_per_s,mean_ms,p50_ms,p90_ms,p99_ms,p99.9_ms,max_ms\n";
  for (const ReportRow& r : rows)
    f << fixed(r.x, 3) << ',' << fixed(r.seconds, 3) << ',' << r.ok << ',' << r.errors << ',' << fixed(r.rps, 2) << ','
      << fixed(r.meanMs, 4) << ',' << fixed(r.p50Ms, 4) << ',' << fixed(r.p90Ms, 4) << ',' << fixed(r.p99Ms, 4) << ','
      << fixed(r.p999Ms, 4) << ',' << fixed(r.maxMs, 4) << '\n';
  if (!f.flush()) throw LoadgenError("cannot write " + path);
}

void writeSvg(const std::string& path, const std::string& title, const std::string& xName,
              const std::vector<ReportRow>& rows) {
  std::ostringstream o;
  const double w = 900;
  const double h = 640;
  o << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << w << "\" height=\"" << h << "\" viewBox=\"0 0 " << w
    << ' ' << h << "\">\n";
  o << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  o << "<text x=\"" << w / 2 << "\" y=\"24\" text-anchor=\"middle\" font-family=\"sans-serif\" font-size=\"16\">"
    << xmlEscape(title) << "</text>\n";
  std::vector<double> xs;
  Series rps{"requests/s", "#1f77b4", {}};
  Series errs{"errors/s", "#d62728", {}};
  Series p50{"p50", "#2ca02c", {}};
  Series p90{"p90", "#ff7f0e", {}};
  Series p99{"p99", "#9467bd", {}};
  for (const ReportRow& r : rows) {
    xs.push_back(r.x);
    rps.values.push_back(r.rps);
    errs.values.push_back(r.seconds > 0 ? double(r.errors) / r.seconds : 0);
    p50.values.push_back(r.p50Ms);
    p90.values.push_back(r.p90Ms);
    p99.values.push_back(r.p99Ms);
  }
  const bool categorical = xName != "second";  // sweep steps are spaced evenly whatever their values
  panel(o, 90, 50, 780, 220, xs, categorical, xName, "requests/s", {rps, errs});
  panel(o, 90, 350, 780, 220, xs, categorical, xName, "latency (ms)", {p50, p90, p99});
  o << "</svg>\n";
  std::ofstream f(path);
  if (!f) throw LoadgenError("cannot write " + path);
  f << o.str();
  if (!f.flush()) throw LoadgenError("cannot write " + path);
}

}  // namespace ringserve::loadgen
