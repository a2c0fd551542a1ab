// `ringserve start [DIR]`: read the settings, check the installation, then run the assembled server
// (supervisor/server/server.hpp) until SIGTERM/SIGINT, which drain and stop it.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "supervisor/server/server.hpp"
#include "supervisor/settings/repository.hpp"
#include "supervisor/settings/server_settings.hpp"
#include "supervisor/start/commands.hpp"
#include "supervisor/start/logging.hpp"
#include "supervisor/start/paths.hpp"

namespace ringserve::cli {

using namespace ringserve::supervisor;

namespace {

// Every open connection, worker channel and environment file is a descriptor, and the usual soft
// limit (1024) is far below the hard one: raise it, as servers do. What happens when even the hard
// limit is reached is handled where descriptors are made (a refused worker spawn is retried, not
// counted as a crash: supervisor/process/README.md).
void raiseFdLimit() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0 || r.rlim_cur >= r.rlim_max) return;
  const rlim_t before = r.rlim_cur;
  r.rlim_cur = r.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &r) == 0)
    spdlog::debug("file descriptor limit raised from {} to {}", static_cast<unsigned long long>(before),
                  static_cast<unsigned long long>(r.rlim_max));
}

int runStart(const std::string& dir) {
  auto env = settings::currentEnvironment();
  settings::Warnings warnings;
  auto loaded = settings::loadServerSettings(dir, env, warnings);
  if (!loaded) {
    std::cerr << "ringserve start: " << loaded.error().message << "\n";
    return 2;
  }
  settings::ServerSettings s = std::move(loaded.value());
  setUpLogging(s.debug, s.useStructuredLogging);
  for (const auto& w : warnings) spdlog::warn("{}", w);
  if (!std::filesystem::is_directory(s.modelRepositoryRoot)) {
    std::cerr << "ringserve start: model repository " << s.modelRepositoryRoot << " is not a folder\n";
    return 2;
  }
  const auto worker = workerExecutable();
  if (::access(worker.c_str(), X_OK) != 0) {
    std::cerr << "ringserve start: worker binary " << worker << " is missing or not executable\n";
    return 2;
  }
  ::signal(SIGPIPE, SIG_IGN);
  raiseFdLimit();

  Server::Options options;
  options.core.settings = std::move(s);
  options.core.workerExecutable = worker.string();
  options.core.builtinRuntimeDir = builtinRuntimeDir().string();
  options.core.env = std::move(env);
  Server server(std::move(options));
  // SIGTERM/SIGINT are caught from here on, before any socket is announced (Server::drainOnSignal).
  server.drainOnSignal(SIGTERM);
  server.drainOnSignal(SIGINT);
  auto ports = server.listen();
  if (!ports) {
    spdlog::error("{}", ports.error().message);
    return 1;
  }
  server.start();
  server.run();
  return 0;
}

}  // namespace

void addStartCommand(CLI::App& app, int& exitCode) {
  auto* cmd = app.add_subcommand("start", "Serve the models of a repository folder");
  auto dir = std::make_shared<std::string>(".");
  cmd->add_option("DIR", *dir, "Model repository folder (settings.json and model-settings.json files)");
  cmd->callback([dir, &exitCode] { exitCode = runStart(*dir); });
}

}  // namespace ringserve::cli
