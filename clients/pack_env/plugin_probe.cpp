#include "clients/pack_env/plugin_probe.hpp"

#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "transport/unique_fd.hpp"

namespace ringserve::supervisor::environments {
namespace {

// The names abi.h gives the two entry points read here.
constexpr const char* kApiVersionSymbol = "ringserve_plugin_api_version";
constexpr const char* kClassesSymbol = "ringserve_plugin_classes";
using ApiVersionFn = void (*)(std::uint32_t*, std::uint32_t*);
using ClassesFn = const char* const* (*)(std::uint32_t*);

void writeAll(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

// Runs in the child; never returns. Output: "ok <major> <minor>\n<class>\n..." or "error <text>".
[[noreturn]] void childMain(int out, const std::filesystem::path& plugin,
                            const std::vector<std::filesystem::path>& preload) {
  // Whatever the plugin prints while loading (or a sanitizer's crash report) would break
  // pack-env's one-line output; what matters comes back through `out`.
  if (int devnull = ::open("/dev/null", O_WRONLY | O_CLOEXEC); devnull >= 0) {
    ::dup2(devnull, STDOUT_FILENO);
    ::dup2(devnull, STDERR_FILENO);
  }
  for (const auto& lib : preload) {
    if (!::dlopen(lib.c_str(), RTLD_NOW | RTLD_GLOBAL)) {
      writeAll(out, std::string("error cannot load its dependency: ") + ::dlerror());
      ::_exit(3);
    }
  }
  void* handle = ::dlopen(plugin.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    writeAll(out, std::string("error cannot be loaded: ") + ::dlerror());
    ::_exit(3);
  }
  auto version = reinterpret_cast<ApiVersionFn>(::dlsym(handle, kApiVersionSymbol));
  if (!version) {
    writeAll(out,
             std::string("error is not a ringserve runtime plugin (it does not export ") + kApiVersionSymbol + ")");
    ::_exit(3);
  }
  std::uint32_t major = 0, minor = 0;
  version(&major, &minor);
  std::ostringstream s;
  s << "ok " << major << ' ' << minor << '\n';
  if (auto classes = reinterpret_cast<ClassesFn>(::dlsym(handle, kClassesSymbol))) {
    std::uint32_t count = 0;
    const char* const* names = classes(&count);
    for (std::uint32_t i = 0; names && i < count; ++i) {
      if (names[i]) s << names[i] << '\n';
    }
  }
  writeAll(out, s.str());
  ::_exit(0);
}

}  // namespace

EnvResult<PluginInfo> probePlugin(const std::filesystem::path& plugin,
                                  const std::vector<std::filesystem::path>& preload,
                                  std::chrono::milliseconds timeout) {
  const std::string name = plugin.string();
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return EnvError{std::string("pipe: ") + std::strerror(errno)};
  transport::UniqueFd readEnd(fds[0]), writeEnd(fds[1]);
  const pid_t pid = ::fork();
  if (pid < 0) return EnvError{std::string("fork: ") + std::strerror(errno)};
  if (pid == 0) {
    readEnd.reset();
    childMain(writeEnd.get(), std::filesystem::absolute(plugin), preload);
  }
  writeEnd.reset();
  std::string output;
  bool timedOut = false;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timedOut = true;
      break;
    }
    pollfd p{readEnd.get(), POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      timedOut = r == 0;
      break;
    }
    char buf[4096];
    ssize_t n = ::read(readEnd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    output.append(buf, static_cast<std::size_t>(n));
  }
  if (timedOut) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timedOut)
    return EnvError{"plugin " + name + " did not finish loading within " + std::to_string(timeout.count()) + " ms"};
  if (output.starts_with("error ")) return EnvError{"plugin " + name + " " + output.substr(6)};
  if (WIFSIGNALED(status)) {
    return EnvError{"plugin " + name + " crashed while loading (killed by signal " + std::to_string(WTERMSIG(status)) +
                    ")"};
  }
  if (!output.starts_with("ok ")) {
    return EnvError{"plugin " + name + " could not be probed (exit status " + std::to_string(WEXITSTATUS(status)) +
                    ")"};
  }
  std::istringstream in(output.substr(3));
  PluginInfo info;
  unsigned major = 0, minor = 0;
  in >> major >> minor;
  info.abiMajor = static_cast<std::uint16_t>(major);
  info.abiMinor = static_cast<std::uint16_t>(minor);
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    if (!line.empty()) info.classes.push_back(line);
  }
  return info;
}

}  // namespace ringserve::supervisor::environments
