#pragma once
// spdlog set-up shared by the subcommands: text or JSON lines on stderr.
namespace ringserve::cli {

void setUpLogging(bool debug, bool json);

}  // namespace ringserve::cli
