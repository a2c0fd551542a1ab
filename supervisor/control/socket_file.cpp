#include "supervisor/control/socket_file.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace ringserve::supervisor::control {

namespace fs = std::filesystem;

namespace {

std::string errnoText(int e) { return std::strerror(e); }

std::string octal(mode_t m) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
  return buf;
}

// The folder holds the socket: nobody else may create, replace or list files in it.
Expected<bool> prepareFolder(const fs::path& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) return internalError("control socket folder " + dir.string() + ": " + errnoText(errno));
    std::error_code ec;
    if (dir.has_parent_path()) fs::create_directories(dir.parent_path(), ec);
    if (ec) return internalError("cannot create " + dir.parent_path().string() + " for the control socket: " + ec.message());
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
      return internalError("cannot create the control socket folder " + dir.string() + ": " + errnoText(errno));
    if (::stat(dir.c_str(), &st) != 0)
      return internalError("control socket folder " + dir.string() + ": " + errnoText(errno));
  }
  if (!S_ISDIR(st.st_mode)) return internalError("control socket folder " + dir.string() + " is not a folder");
  if (st.st_uid != ::geteuid())
    return internalError("control socket folder " + dir.string() + " belongs to uid " + std::to_string(st.st_uid) +
                         ", not to this server's uid " + std::to_string(::geteuid()) +
                         "; choose another control_socket");
  if ((st.st_mode & 0077) != 0)
    return internalError("control socket folder " + dir.string() + " has mode " + octal(st.st_mode) +
                         "; it must be private to its owner (mode 0700): run chmod 700 " + dir.string() +
                         " or choose another control_socket");
  return true;
}

// Makes room for the new socket: nothing there, or a stale socket (removed).
Expected<bool> clearStale(const fs::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return true;
    return internalError("control socket " + path.string() + ": " + errnoText(errno));
  }
  if (!S_ISSOCK(st.st_mode))
    return internalError("control socket path " + path.string() +
                         " exists and is not a socket; remove it or choose another control_socket");
  switch (probeControlSocket(path)) {
    case SocketProbe::live:
      return internalError("another server is already listening on the control socket " + path.string());
    case SocketProbe::stale:
      spdlog::info("replacing the stale control socket {} (no server is listening on it)", path.string());
      if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        return internalError("cannot remove the stale control socket " + path.string() + ": " + errnoText(errno));
      return true;
    case SocketProbe::missing: return true;
    default: return internalError("cannot check the existing control socket " + path.string());
  }
}

}  // namespace

Expected<BoundSocket> bindControlSocket(const fs::path& requested) {
  if (requested.empty()) return internalError("no control socket path given");
  const fs::path path = fs::absolute(requested);
  sockaddr_un addr{};
  std::string error;
  if (!unixAddress(path, addr, error)) return internalError(std::move(error));
  if (auto r = prepareFolder(path.parent_path()); !r) return r.error();
  if (auto r = clearStale(path); !r) return r.error();

  BoundSocket s;
  s.path = path;
  s.fd = transport::UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!s.fd) return internalError("control socket: " + errnoText(errno));
  if (::bind(s.fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return internalError("cannot bind the control socket " + path.string() + ": " + errnoText(errno));
  // The folder is private, so nobody can reach the socket before its mode is narrowed.
  if (::chmod(path.c_str(), 0600) != 0 || ::listen(s.fd.get(), 64) != 0) {
    const int e = errno;
    ::unlink(path.c_str());
    return internalError("control socket " + path.string() + ": " + errnoText(e));
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    s.dev = st.st_dev;
    s.ino = st.st_ino;
  }
  return s;
}

void removeControlSocket(const BoundSocket& s) {
  struct stat st {};
  if (::lstat(s.path.c_str(), &st) != 0) return;
  if (st.st_dev != s.dev || st.st_ino != s.ino) return;  // a newer server's socket
  if (::unlink(s.path.c_str()) != 0) spdlog::warn("cannot remove the control socket {}: {}", s.path.string(), errnoText(errno));
}

}  // namespace ringserve::supervisor::control
