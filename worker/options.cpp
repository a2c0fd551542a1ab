#include "worker/options.hpp"

#include <CLI/CLI.hpp>

#include "schema/version.hpp"

namespace ringserve::worker {

std::variant<Options, int> parseOptions(int argc, char** argv) {
  Options o;
  CLI::App app{"ringserve-worker: runs runtime plugins for a ringserve supervisor (started by it, not by hand)"};
  app.set_version_flag("--version", std::string("ringserve-worker ") + buildVersion());
  app.add_option("--shm-fd", o.shmFd, "inherited memfd of the shared-memory segment")->required()->check(CLI::NonNegativeNumber);
  app.add_option("--control-fd", o.controlFd, "inherited socket of the control channel")->required()->check(CLI::NonNegativeNumber);
  app.add_option("--lane-fds", o.laneFds, "inherited eventfds, one per lane, in lane order")->delimiter(',')->required();
  app.add_option("--worker-id", o.workerId, "name in logs, e.g. default/0");
  app.add_option("--log-level", o.logLevel, "debug, info, warn or error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "warning", "error", "critical", "off"}));
  app.add_option("--spin-us", o.spinUs, "microseconds to spin before sleeping on the futex");
  app.add_option("--heartbeat-ms", o.heartbeatMs, "interval of unsolicited heartbeats (0: none)");
  app.add_flag("--json-logs", o.jsonLogs, "JSON log lines");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return o;
}

}  // namespace ringserve::worker
