#include "protocol/control/socket_path.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "transport/unique_fd.hpp"

namespace ringserve::control {

namespace fs = std::filesystem;

fs::path defaultControlSocketDir(std::string_view xdgRuntimeDir) {
  if (!xdgRuntimeDir.empty()) return fs::path(xdgRuntimeDir) / "ringserve";
  return fs::path("/tmp") / ("ringserve-" + std::to_string(::getuid()));
}

bool unixAddress(const fs::path& path, sockaddr_un& addr, std::string& error) {
  std::memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  const std::string& s = path.native();
  if (s.size() >= sizeof addr.sun_path) {
    error = "control socket path " + s + " is " + std::to_string(s.size()) + " bytes long; the limit is " +
            std::to_string(sizeof addr.sun_path - 1);
    return false;
  }
  std::memcpy(addr.sun_path, s.c_str(), s.size() + 1);
  return true;
}

SocketProbe probeControlSocket(const fs::path& path) {
  sockaddr_un addr{};
  std::string error;
  if (!unixAddress(path, addr, error)) return SocketProbe::error;
  transport::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return SocketProbe::error;
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return SocketProbe::live;
  switch (errno) {
    case ECONNREFUSED: return SocketProbe::stale;
    case ENOENT: return SocketProbe::missing;
    case ENOTSOCK: return SocketProbe::notASocket;
    case EACCES:
    case EPERM: return SocketProbe::denied;
    default: return SocketProbe::error;
  }
}

}  // namespace ringserve::control
