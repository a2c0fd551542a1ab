#pragma once
// The client side of the control socket, for `ringserve ctl` and tests: finding the server's socket
// and running one command over a blocking connection.
#include <chrono>
#include <filesystem>
#include <optional>

#include "supervisor/control/control_protocol.hpp"
#include "supervisor/error.hpp"
#include "supervisor/settings/environment.hpp"

namespace ringserve::supervisor::control {

// The socket to talk to: `explicitPath` if given, else $RINGSERVE_CONTROL_SOCKET, else the one live
// ringserve-*.sock in settings::defaultControlSocketDir(env). Errors (503) say that no server is
// running, or list the live sockets when there are several.
Expected<std::filesystem::path> chooseControlSocket(const std::optional<std::filesystem::path>& explicitPath,
                                                    const settings::EnvMap& env);

// Connects, sends `c`, waits for the reply (at most `timeout`; zero = no limit). Errors are failures
// to reach the server or to read its reply (503 not running, 504 timeout, 500 protocol); a reply of
// kind error is a successful call.
Expected<Reply> callControl(const std::filesystem::path& socket, const Command& c,
                            std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

}  // namespace ringserve::supervisor::control
