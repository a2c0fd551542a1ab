#pragma once
// `ringserve ctl load|reload|unload|list|status [--socket PATH] [--json] [--timeout S]`.
//
// Exit status: 0 done; 1 the server refused or failed the operation (its message on stderr, one
// line); 2 the server could not be reached or answered nonsense; CLI11's own codes for usage errors.
#include <CLI/CLI.hpp>

namespace ringserve::ctl {

void addCtlCommand(CLI::App& app, int& exitCode);

}  // namespace ringserve::ctl
