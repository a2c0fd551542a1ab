// `ringserve`: the supervisor and its client commands.
#include <CLI/CLI.hpp>

#include <iostream>

#include "schema/version.hpp"
#include "supervisor/cli/commands.hpp"
#if __has_include("supervisor/loadgen/commands.hpp")
#include "supervisor/loadgen/commands.hpp"
#define RINGSERVE_HAVE_LOADGEN 1
#endif

int main(int argc, char** argv) {
  CLI::App app{"ringserve: a multi-model inference server (Open Inference Protocol / KServe V2)"};
  app.set_version_flag("--version", std::string("ringserve ") + ringserve::buildVersion() + " (protocol " +
                                        ringserve::toString(ringserve::kProtocolVersion) + ", SDK ABI " +
                                        std::to_string(ringserve::kSdkAbiMajor) + "." +
                                        std::to_string(ringserve::kSdkAbiMinor) + ")");
  app.require_subcommand(1);
  int exitCode = 0;
  ringserve::cli::addStartCommand(app, exitCode);
#ifdef RINGSERVE_HAVE_LOADGEN
  ringserve::loadgen::addBenchCommand(app, exitCode);
  ringserve::loadgen::addInferCommand(app, exitCode);
#endif
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exitCode;
}
