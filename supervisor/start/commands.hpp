#pragma once
// The `ringserve` subcommands this folder owns. Each adds itself to the app; when it runs, it
// stores its exit status in `exitCode`.
#include <CLI/CLI.hpp>

namespace ringserve::cli {

void addStartCommand(CLI::App& app, int& exitCode);

}  // namespace ringserve::cli
