#include "clients/ctl/ctl_format.hpp"

#include <cmath>
#include <cstdio>
#include <vector>

#include "transport/json_text.hpp"

namespace ringserve::ctl {

namespace {

using Row = std::vector<std::string>;

// Columns padded to their widest cell; the last column is not padded.
std::string table(const Row& header, const std::vector<Row>& rows) {
  std::vector<std::size_t> width(header.size(), 0);
  auto measure = [&](const Row& r) {
    for (std::size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  };
  measure(header);
  for (const auto& r : rows) measure(r);
  std::string out;
  auto emit = [&](const Row& r) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  };
  emit(header);
  for (const auto& r : rows) emit(r);
  return out;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

std::string port(std::uint16_t p) { return p == 0 ? std::string("-") : ":" + std::to_string(p); }

void str(std::string& out, const std::string& s) { transport::appendJsonStringRepaired(out, s); }

void key(std::string& out, const char* k) {
  if (out.back() != '{') out += ',';
  out += '"';
  out += k;
  out += "\":";
}

}  // namespace

std::string oneLine(std::string message) {
  // "looked for:\n  /a\n  /b" -> "looked for: /a; /b"
  std::string out;
  bool lineBreak = false;
  for (char c : message) {
    if (c == '\n' || c == '\r') {
      lineBreak = true;
      continue;
    }
    if (lineBreak && (c == ' ' || c == '\t')) continue;
    if (lineBreak && !out.empty()) out += out.back() == ':' ? " " : "; ";
    lineBreak = false;
    out += c == '\t' ? ' ' : c;
  }
  return out;
}

std::string humanBytes(std::uint64_t bytes) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0 || v >= 100 || v == std::floor(v))
    std::snprintf(buf, sizeof buf, "%.0f %s", v, units[u]);
  else
    std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

std::string humanDuration(double seconds) {
  auto s = static_cast<long long>(seconds);
  const long long d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60, sec = s % 60;
  char buf[64];
  if (d > 0)
    std::snprintf(buf, sizeof buf, "%lldd %02lldh %02lldm", d, h, m);
  else if (h > 0)
    std::snprintf(buf, sizeof buf, "%lldh %02lldm %02llds", h, m, sec);
  else if (m > 0)
    std::snprintf(buf, sizeof buf, "%lldm %02llds", m, sec);
  else
    std::snprintf(buf, sizeof buf, "%llds", sec);
  return buf;
}

std::string formatText(const Reply& r) {
  switch (r.kind) {
    case Reply::Kind::ok: return oneLine(r.message) + "\n";
    case Reply::Kind::error: return "error: " + oneLine(r.message) + "\n";
    case Reply::Kind::list: {
      if (r.models.empty()) return "no models in the repository\n";
      std::vector<Row> rows;
      for (const auto& m : r.models)
        rows.push_back({m.name, m.version.empty() ? "-" : m.version, toString(m.state), oneLine(m.reason)});
      return table({"NAME", "VERSION", "STATE", "REASON"}, rows);
    }
    case Reply::Kind::status: {
      const auto& s = r.status;
      std::string out = "ringserve " + s.version + ", pid " + std::to_string(s.pid) + ", up " +
                        humanDuration(s.uptimeSeconds) + "\n";
      out += "http " + port(s.httpPort) + "  grpc " + port(s.grpcPort) + "  metrics " + port(s.metricsPort) +
             "  control " + s.controlSocket + "\n";
      std::vector<Row> rows;
      for (const auto& p : s.pools) {
        for (const auto& w : p.workers)
          rows.push_back({p.key, w.id, w.pid ? std::to_string(w.pid) : "-", w.state, std::to_string(w.restarts),
                          std::to_string(w.inFlight),
                          w.shmUsedBytes ? humanBytes(w.shmUsedBytes) + " / " + humanBytes(w.shmSizeBytes)
                                         : humanBytes(w.shmSizeBytes),
                          w.models.empty() ? "-" : joined(w.models)});
      }
      if (rows.empty()) return out + "no workers\n";
      out += "\n" + table({"POOL", "WORKER", "PID", "STATE", "RESTARTS", "IN-FLIGHT", "SHM", "MODELS"}, rows);
      std::vector<Row> envs;
      for (const auto& p : s.pools)
        if (!p.environment.empty()) envs.push_back({p.key, p.environment, humanBytes(p.environmentBytes)});
      if (!envs.empty()) out += "\n" + table({"POOL", "ENVIRONMENT", "SIZE"}, envs);
      return out;
    }
  }
  return "\n";
}

std::string formatJson(const Reply& r) {
  std::string out = "{";
  switch (r.kind) {
    case Reply::Kind::ok: key(out, "ok"); str(out, r.message); break;
    case Reply::Kind::error: key(out, "error"); str(out, r.message); break;
    case Reply::Kind::list:
      key(out, "models");
      out += '[';
      for (std::size_t i = 0; i < r.models.size(); ++i) {
        const auto& m = r.models[i];
        out += i ? ",{" : "{";
        key(out, "name"); str(out, m.name);
        key(out, "version"); str(out, m.version);
        key(out, "state"); str(out, toString(m.state));
        key(out, "reason"); str(out, m.reason);
        out += '}';
      }
      out += ']';
      break;
    case Reply::Kind::status: {
      const auto& s = r.status;
      key(out, "pid"); out += std::to_string(s.pid);
      key(out, "version"); str(out, s.version);
      char up[32];
      std::snprintf(up, sizeof up, "%.3f", s.uptimeSeconds);
      key(out, "uptime_seconds"); out += up;
      key(out, "http_port"); out += std::to_string(s.httpPort);
      key(out, "grpc_port"); out += std::to_string(s.grpcPort);
      key(out, "metrics_port"); out += std::to_string(s.metricsPort);
      key(out, "control_socket"); str(out, s.controlSocket);
      key(out, "pools");
      out += '[';
      for (std::size_t p = 0; p < s.pools.size(); ++p) {
        const auto& pool = s.pools[p];
        out += p ? ",{" : "{";
        key(out, "key"); str(out, pool.key);
        key(out, "environment"); str(out, pool.environment);
        key(out, "environment_bytes"); out += std::to_string(pool.environmentBytes);
        key(out, "workers");
        out += '[';
        for (std::size_t w = 0; w < pool.workers.size(); ++w) {
          const auto& wk = pool.workers[w];
          out += w ? ",{" : "{";
          key(out, "id"); str(out, wk.id);
          key(out, "pid"); out += std::to_string(wk.pid);
          key(out, "state"); str(out, wk.state);
          key(out, "restarts"); out += std::to_string(wk.restarts);
          key(out, "in_flight"); out += std::to_string(wk.inFlight);
          key(out, "shm_used_bytes"); out += std::to_string(wk.shmUsedBytes);
          key(out, "shm_size_bytes"); out += std::to_string(wk.shmSizeBytes);
          key(out, "models");
          out += '[';
          for (std::size_t m = 0; m < wk.models.size(); ++m) {
            if (m) out += ',';
            str(out, wk.models[m]);
          }
          out += "]}";
        }
        out += "]}";
      }
      out += ']';
      break;
    }
  }
  return out + "}\n";
}

}  // namespace ringserve::ctl
