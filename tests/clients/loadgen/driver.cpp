// Runs `bench` / `infer` through CLI11 exactly as the `ringserve` main does, so the tests can
// drive the commands as processes before that binary exists.
#include <CLI/CLI.hpp>

#include "clients/loadgen/commands.hpp"

int main(int argc, char** argv) {
  CLI::App app("loadgen test driver");
  app.require_subcommand(1);
  int exitCode = 0;
  ringserve::loadgen::addBenchCommand(app, exitCode);
  ringserve::loadgen::addInferCommand(app, exitCode);
  CLI11_PARSE(app, argc, argv);
  return exitCode;
}
