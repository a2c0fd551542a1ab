#pragma once
// Entry points the `ringserve` main calls to add the client subcommands.
#include <CLI/CLI.hpp>

namespace ringserve::loadgen {

// Adds the `bench` / `infer` subcommands to `app`; when one runs, it stores its exit status in
// `exitCode` (0 success, 1 requests failed / none succeeded, 2 bad options or files).
void addBenchCommand(CLI::App& app, int& exitCode);
void addInferCommand(CLI::App& app, int& exitCode);

}  // namespace ringserve::loadgen
