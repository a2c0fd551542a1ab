#include "control_fixture.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "transport/frame.hpp"

extern char** environ;

namespace ringserve::supervisor::control::test {

namespace fs = std::filesystem;

RunningServer::RunningServer(ServerOptions options, EnvironmentOptions environment, ControlLimits limits)
    : options_(std::move(options)) {
  auto o = supervisor::test::testServerOptions(options_.repository, options_.socket);
  o.core.settings.serverVersion = "test-version";
  if (!options_.workerExecutable.empty()) o.core.workerExecutable = options_.workerExecutable;
  o.core.builtinRuntimeDir = options_.runtimeDir;
  if (!environment.environmentsDir.empty()) o.core.settings.environmentsDir = environment.environmentsDir;
  o.core.environmentLimits.writeHook = std::move(environment.unpackWriteHook);
  o.controlLimits = limits;
  server_ = std::make_unique<supervisor::test::InProcessServer>(
      std::move(o), options_.startCore ? Server::Models::repository : Server::Models::none);
  const auto& listened = server_->listenResult();
  if (listened.ok())
    listen_ = listened.value().controlSocket;
  else
    listen_ = listened.error();
}

RunningServer::~RunningServer() = default;

std::size_t RunningServer::connectionCount() {
  std::size_t n = 0;
  onLoop([&] { n = server_->server().controlServer()->connectionCount(); });
  return n;
}

RawClient::RawClient(const fs::path& socket) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket.c_str(), sizeof addr.sun_path - 1);
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

RawClient::~RawClient() {
  if (fd_ >= 0) ::close(fd_);
}

void RawClient::send(const std::vector<std::byte>& bytes) {
  std::size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;  // the server may close early (oversized frames): the reply says why
    off += static_cast<std::size_t>(n);
  }
}

void RawClient::sendCommand(const Command& c) { send(frameOf(c)); }

void RawClient::shutdownWrite() { ::shutdown(fd_, SHUT_WR); }

namespace {
bool waitReadable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 60000) == 1;
}
}  // namespace

std::optional<Reply> RawClient::receive() {
  if (!waitReadable(fd_)) return std::nullopt;
  auto frame = transport::readStreamFrame(fd_, kMaxReplyFrame);
  if (!frame) return std::nullopt;
  auto reply = decodeReply(std::move(frame.value()));
  if (!reply) return std::nullopt;
  return std::move(reply.value());
}

bool RawClient::closedByServer() {
  if (!waitReadable(fd_)) return false;
  char c;
  const ssize_t n = ::recv(fd_, &c, 1, 0);
  return n == 0 || (n < 0 && errno == ECONNRESET);
}

std::vector<std::byte> frameOf(const Command& c) {
  capnp::MallocMessageBuilder message;
  buildCommand(c, message);
  return transport::encodeStreamFrame(message);
}

std::vector<std::byte> lengthPrefix(std::uint32_t length) {
  std::vector<std::byte> out(4);
  for (int i = 0; i < 4; ++i) out[i] = static_cast<std::byte>((length >> (8 * i)) & 0xff);
  return out;
}

namespace {

struct Child {
  pid_t pid = -1;
  fs::path out, err;
};

Child spawnCtl(const std::vector<std::string>& args, const std::vector<std::string>& prefix, const fs::path& dir,
               int n) {
  Child c;
  c.out = dir / ("out-" + std::to_string(n));
  c.err = dir / ("err-" + std::to_string(n));
  std::vector<std::string> argv = prefix;
  argv.push_back(RINGSERVE_CTL_DRIVER);
  argv.push_back("ctl");
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, c.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, c.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (posix_spawnp(&c.pid, cargv[0], &fa, nullptr, cargv.data(), environ) != 0) c.pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  return c;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

ProcessResult finish(const Child& c) {
  ProcessResult r;
  if (c.pid < 0) return r;
  int status = 0;
  while (::waitpid(c.pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(c.out);
  r.err = slurp(c.err);
  return r;
}

}  // namespace

ProcessResult runCtl(const std::vector<std::string>& args, const std::vector<std::string>& prefix) {
  TempDir dir;  // output files are opened before `prefix` (e.g. setpriv) drops privileges
  return finish(spawnCtl(args, prefix, dir.path(), 0));
}

std::vector<ProcessResult> runCtlConcurrently(const std::vector<std::vector<std::string>>& argLists) {
  TempDir dir;
  std::vector<Child> children;
  for (std::size_t i = 0; i < argLists.size(); ++i)
    children.push_back(spawnCtl(argLists[i], {}, dir.path(), static_cast<int>(i)));
  std::vector<ProcessResult> out;
  for (const auto& c : children) out.push_back(finish(c));
  return out;
}

}  // namespace ringserve::supervisor::control::test
