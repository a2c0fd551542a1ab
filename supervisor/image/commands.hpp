#pragma once
// `ringserve dockerfile` and `ringserve build`. They need the installation they run from (the
// prefix holding bin/ringserve) to stage it into images with a plain Debian base.
#include <CLI/CLI.hpp>

#include <filesystem>

namespace ringserve::supervisor::image {

void addImageCommands(CLI::App& app, int& exitCode, const std::filesystem::path& installation);

}  // namespace ringserve::supervisor::image
