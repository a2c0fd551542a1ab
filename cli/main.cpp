// `ringserve`: the one executable; every subcommand is added here (README.md).
#include <CLI/CLI.hpp>

#include <iostream>

#include "clients/ctl/ctl_command.hpp"
#include "clients/loadgen/commands.hpp"
#include "clients/pack_env/pack_env_command.hpp"
#include "schema/version.hpp"
#include "supervisor/image/commands.hpp"
#include "supervisor/start/commands.hpp"
#include "supervisor/start/paths.hpp"

int main(int argc, char** argv) {
  CLI::App app{"ringserve: a multi-model inference server (Open Inference Protocol / KServe V2)"};
  app.set_version_flag("--version", std::string("ringserve ") + ringserve::buildVersion() + " (protocol " +
                                        ringserve::toString(ringserve::kProtocolVersion) + ", SDK ABI " +
                                        std::to_string(ringserve::kSdkAbiMajor) + "." +
                                        std::to_string(ringserve::kSdkAbiMinor) + ")");
  app.require_subcommand(1);
  int exitCode = 0;
  ringserve::cli::addStartCommand(app, exitCode);
  ringserve::ctl::addCtlCommand(app, exitCode);
  ringserve::supervisor::environments::addPackEnvCommand(app, exitCode);
  ringserve::loadgen::addBenchCommand(app, exitCode);
  ringserve::loadgen::addInferCommand(app, exitCode);
  ringserve::supervisor::image::addImageCommands(app, exitCode, ringserve::cli::selfDirectory().parent_path());
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exitCode;
}
