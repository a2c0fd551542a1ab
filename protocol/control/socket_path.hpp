#pragma once
// Where a server's control socket lives and how to tell a live one from a stale one: the server
// binds there (supervisor/control/socket_file.hpp) and `ringserve ctl` looks there
// (clients/ctl/ctl_client.hpp), so both read the same rules from here (docs/cli.md#the-control-socket).
#include <sys/un.h>

#include <filesystem>
#include <string>
#include <string_view>

namespace ringserve::control {

// `<xdgRuntimeDir>/ringserve` when `xdgRuntimeDir` ($XDG_RUNTIME_DIR) is not empty, else
// `/tmp/ringserve-<uid>`. The server puts `ringserve-<pid>.sock` there unless `control_socket` says
// otherwise.
std::filesystem::path defaultControlSocketDir(std::string_view xdgRuntimeDir);

enum class SocketProbe { live, stale, missing, notASocket, denied, error };
// Connects to `path` and hangs up: live when a server accepts.
SocketProbe probeControlSocket(const std::filesystem::path& path);

// Fills a sockaddr_un; false (with `error` set) when the path does not fit in sun_path.
bool unixAddress(const std::filesystem::path& path, sockaddr_un& addr, std::string& error);

}  // namespace ringserve::control
