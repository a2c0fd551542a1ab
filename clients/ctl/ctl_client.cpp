#include "clients/ctl/ctl_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "protocol/control/socket_path.hpp"
#include "transport/frame.hpp"
#include "transport/unique_fd.hpp"

namespace ringserve::ctl {

namespace fs = std::filesystem;

namespace {

CtlError notRunning(std::string m) { return {CtlError::Kind::notRunning, std::move(m)}; }

std::string joined(const std::vector<fs::path>& paths) {
  std::string out;
  for (const auto& p : paths) out += (out.empty() ? "" : ", ") + p.string();
  return out;
}

}  // namespace

EnvMap currentEnvironment() {
  EnvMap env;
  for (const char* name : {"RINGSERVE_CONTROL_SOCKET", "XDG_RUNTIME_DIR"})
    if (const char* v = std::getenv(name)) env.emplace(name, v);
  return env;
}

CtlResult<fs::path> chooseControlSocket(const std::optional<fs::path>& explicitPath, const EnvMap& env) {
  if (explicitPath && !explicitPath->empty()) return *explicitPath;
  if (auto it = env.find("RINGSERVE_CONTROL_SOCKET"); it != env.end() && !it->second.empty())
    return fs::path(it->second);
  const auto xdg = env.find("XDG_RUNTIME_DIR");
  const fs::path dir = defaultControlSocketDir(xdg == env.end() ? std::string_view() : std::string_view(xdg->second));
  std::vector<fs::path> found;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const auto name = it->path().filename().string();
    if (name.starts_with("ringserve-") && name.ends_with(".sock")) found.push_back(it->path());
  }
  std::sort(found.begin(), found.end());
  if (found.empty())
    return notRunning("no ringserve server is running for this user (no control socket in " + dir.string() +
                      "); start one with `ringserve start` or pass --socket PATH");
  std::vector<fs::path> live;
  for (const auto& p : found)
    if (probeControlSocket(p) == SocketProbe::live) live.push_back(p);
  if (live.size() == 1) return live.front();
  if (live.empty())
    return notRunning("no ringserve server is running for this user (only stale control sockets in " + dir.string() +
                      ": " + joined(found) + ")");
  return CtlError{CtlError::Kind::ambiguous,
                  "several ringserve servers are running (" + joined(live) + "); choose one with --socket PATH"};
}

CtlResult<Reply> callControl(const fs::path& socket, const Command& c, std::chrono::milliseconds timeout) {
  sockaddr_un addr{};
  std::string error;
  if (!unixAddress(socket, addr, error)) return CtlError{CtlError::Kind::system, std::move(error)};
  transport::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return CtlError{CtlError::Kind::system, std::string("socket: ") + std::strerror(errno)};
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int e = errno;
    switch (e) {
      case ENOENT: return notRunning("no control socket at " + socket.string() + ": is the server running?");
      case ECONNREFUSED:
        return notRunning("no server is listening on " + socket.string() + " (connection refused): is it running?");
      case EACCES:
      case EPERM:
        return CtlError{CtlError::Kind::denied, "permission denied opening the control socket " + socket.string() +
                                                    ": it belongs to another user"};
      default: return notRunning("cannot connect to " + socket.string() + ": " + std::strerror(e));
    }
  }
  capnp::MallocMessageBuilder message;
  buildCommand(c, message);
  // A refused peer may find the socket closed before its request is written; the server's reply
  // (read below) says why.
  const auto sent = transport::writeStreamFrame(fd.get(), message);
  pollfd pfd{fd.get(), POLLIN, 0};
  int ready;
  do {
    ready = ::poll(&pfd, 1, timeout.count() > 0 ? static_cast<int>(timeout.count()) : -1);
  } while (ready < 0 && errno == EINTR);
  if (ready == 0)
    return CtlError{CtlError::Kind::timeout, "no reply from the server on " + socket.string() + " within " +
                                                 std::to_string(timeout.count()) + " ms"};
  auto frame = transport::readStreamFrame(fd.get(), kMaxReplyFrame);
  if (!frame) {
    const auto& err = frame.error();
    if (err.code == transport::ErrorCode::closed) {
      if (!sent) return notRunning("the server closed the connection: " + sent.error().message);
      return notRunning("the server closed the connection without replying");
    }
    return CtlError{CtlError::Kind::badReply, "reading the server's reply: " + err.message};
  }
  auto reply = decodeReply(std::move(frame.value()));
  if (!reply) return CtlError{CtlError::Kind::badReply, reply.error().message};
  return std::move(reply.value());
}

}  // namespace ringserve::ctl
