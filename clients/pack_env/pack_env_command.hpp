#pragma once
// `ringserve pack-env`: the command line of packEnvironment() (pack_env.hpp).
#include <CLI/CLI.hpp>

namespace ringserve::supervisor::environments {

// Adds the `pack-env` subcommand to `app`; when it runs it stores its exit status in `exitCode`
// (0 success, 1 the environment could not be built; the reason is one line on stderr).
void addPackEnvCommand(CLI::App& app, int& exitCode);

}  // namespace ringserve::supervisor::environments
