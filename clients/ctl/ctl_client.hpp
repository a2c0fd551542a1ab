#pragma once
// The client side of the control socket, for `ringserve ctl` and tests: finding the server's socket
// and running one command over a blocking connection. Only the shared protocol (protocol/control)
// and transport/: no server code.
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "protocol/control/control_protocol.hpp"
#include "transport/result.hpp"

namespace ringserve::ctl {

using namespace ringserve::control;

// Why ctl could not get a reply; `ringserve ctl` prints the message and exits 2 for every kind.
struct CtlError {
  enum class Kind {
    notRunning,  // no socket, nobody listening, the server hung up
    ambiguous,   // several live servers and no --socket
    denied,      // the socket belongs to another user
    timeout,     // no reply within the timeout
    badReply,    // the reply could not be read or decoded
    system,      // a path too long for a socket address, no descriptors
  };
  Kind kind = Kind::system;
  std::string message;
};
template <class T>
using CtlResult = BasicResult<T, CtlError>;

// The variables ctl reads (RINGSERVE_CONTROL_SOCKET, XDG_RUNTIME_DIR), by name.
using EnvMap = std::map<std::string, std::string, std::less<>>;
EnvMap currentEnvironment();

// The socket to talk to: `explicitPath` if given, else $RINGSERVE_CONTROL_SOCKET, else the one live
// ringserve-*.sock in defaultControlSocketDir($XDG_RUNTIME_DIR). Errors say that no server is
// running, or list the live sockets when there are several.
CtlResult<std::filesystem::path> chooseControlSocket(const std::optional<std::filesystem::path>& explicitPath,
                                                     const EnvMap& env);

// Connects, sends `c`, waits for the reply (at most `timeout`; zero = no limit). Errors are failures
// to reach the server or to read its reply (not running, timeout, a malformed reply); a reply of
// kind error is a successful call.
CtlResult<Reply> callControl(const std::filesystem::path& socket, const Command& c,
                             std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

}  // namespace ringserve::ctl
