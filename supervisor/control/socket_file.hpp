#pragma once
// The control socket in the file system: its private folder, replacing a stale socket left by a
// killed server, binding it 0600, removing it at shutdown. The default folder and the liveness probe
// are shared with `ringserve ctl` (protocol/control/socket_path.hpp).
#include <sys/types.h>
#include <sys/un.h>

#include <filesystem>
#include <string>

#include "protocol/control/socket_path.hpp"
#include "supervisor/error.hpp"
#include "transport/unique_fd.hpp"

namespace ringserve::supervisor::control {

// A listening socket and the identity of the file it is bound to, so shutdown removes that file and
// not a newer server's socket at the same path.
struct BoundSocket {
  transport::UniqueFd fd;  // non-blocking, close-on-exec, listening
  std::filesystem::path path;
  dev_t dev = 0;
  ino_t ino = 0;
};

// Creates the folder (0700) when missing, or checks that an existing one belongs to this user and is
// private to it; replaces a stale socket (nobody listening) and refuses to take over a live one or a
// file that is not a socket; binds, sets mode 0600 and listens. Startup only: the error (always
// ErrorKind::internal) is printed by `ringserve start`, which exits; nothing maps its kind, so a
// startup error type of its own would add a type and no information.
Expected<BoundSocket> bindControlSocket(const std::filesystem::path& path);

// Unlinks `s.path` if it is still the file `s` was bound to.
void removeControlSocket(const BoundSocket& s);

using ringserve::control::probeControlSocket;
using ringserve::control::SocketProbe;
using ringserve::control::unixAddress;

}  // namespace ringserve::supervisor::control
