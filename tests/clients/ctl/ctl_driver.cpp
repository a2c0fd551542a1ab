// `ringserve ctl` without the rest of the ringserve binary: what the tests run as a client process.
#include <CLI/CLI.hpp>

#include "clients/ctl/ctl_command.hpp"

int main(int argc, char** argv) {
  CLI::App app{"ctl test driver"};
  app.require_subcommand(1);
  int exitCode = 0;
  ringserve::ctl::addCtlCommand(app, exitCode);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exitCode;
}
