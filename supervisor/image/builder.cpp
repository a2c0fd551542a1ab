#include "supervisor/image/builder.hpp"

#include <chrono>

#include "supervisor/image/run_command.hpp"

namespace ringserve::supervisor::image {
namespace {

using namespace std::chrono_literals;
// How long `docker version` / `podman info` / an image lookup may take before the builder is
// taken for not answering. Podman's first call on a fresh storage sets it up, hence not less.
constexpr auto kCheckTimeout = 10s;

// The first non-empty line of a builder's output, for a one-line error.
std::string firstLine(const std::string& text) {
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = text.find('\n', start);
    std::string line = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (line.find_first_not_of(" \t\r") != std::string::npos) return line;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return "no output";
}

EnvVars builderEnv(Builder b) {
  if (b == Builder::Docker) return {{"DOCKER_BUILDKIT", "1"}};
  return {};
}

}  // namespace

const char* builderName(Builder b) { return b == Builder::Docker ? "docker" : "podman"; }

ImageResult<Builder> chooseBuilder(const std::optional<std::string>& requested) {
  if (requested) {
    const Builder b = *requested == "docker" ? Builder::Docker : Builder::Podman;
    if (!findOnPath(builderName(b))) {
      return ImageError{std::string("--builder ") + builderName(b) + ": " + builderName(b) + " is not installed (not on PATH)"};
    }
    return b;
  }
  if (findOnPath("docker")) return Builder::Docker;
  if (findOnPath("podman")) return Builder::Podman;
  return ImageError{"no image builder: neither docker nor podman is on PATH (install one, e.g. apt-get install podman)"};
}

ImageResult<bool> checkBuilder(Builder b) {
  const std::vector<std::string> argv = b == Builder::Docker
                                            ? std::vector<std::string>{"docker", "version", "--format", "{{.Server.Version}}"}
                                            : std::vector<std::string>{"podman", "info", "--format", "{{.Host.OCIRuntime.Name}}"};
  const auto r = runCaptured(argv, builderEnv(b), kCheckTimeout);
  const std::string what = b == Builder::Docker ? "the Docker daemon" : "podman";
  if (!r.started) return ImageError{what + " cannot be run: " + r.output};
  if (r.timedOut) {
    return ImageError{what + " does not answer (`" + argv[0] + " " + argv[1] + "` gave nothing within " +
                      std::to_string(kCheckTimeout.count()) + " s)"};
  }
  if (r.exitStatus != 0) return ImageError{what + " does not answer: " + firstLine(r.output)};
  return true;
}

ImageResult<bool> checkBaseImage(Builder b, const std::string& image) {
  const std::vector<std::string> argv = b == Builder::Docker
                                            ? std::vector<std::string>{"docker", "image", "inspect", "--format", "{{.Id}}", image}
                                            : std::vector<std::string>{"podman", "image", "inspect", "--format", "{{.Id}}", image};
  const auto r = runCaptured(argv, builderEnv(b), kCheckTimeout);
  if (r.started && !r.timedOut && r.exitStatus == 0) return true;
  if (r.timedOut) return ImageError{std::string(builderName(b)) + " did not answer while looking up base image '" + image + "'"};
  return ImageError{"base image '" + image + "' is not in " + builderName(b) +
                    "'s local images (build ringserve's own with `" + builderName(b) +
                    " build -t ringserve:<version> .` in its repository, or pass --base-image)"};
}

std::vector<std::string> buildCommand(Builder b, const BuildRequest& r) {
  std::vector<std::string> argv{builderName(b), "build"};
  if (b == Builder::Docker) {
    argv.push_back("--rm");
  } else {
    // OCI images drop HEALTHCHECK; never pull: the base was checked to be local.
    argv.insert(argv.end(), {"--format", "docker", "--pull=never"});
  }
  if (r.noCache) argv.push_back("--no-cache");
  if (!r.network.empty()) argv.insert(argv.end(), {"--network", r.network});
  argv.insert(argv.end(), {"-t", r.tag, "-f", r.context + "/Dockerfile", r.context});
  return argv;
}

ImageResult<bool> runBuild(Builder b, const BuildRequest& r) {
  std::string error;
  const int status = runInherited(buildCommand(b, r), builderEnv(b), error);
  if (status < 0) return ImageError{std::string(builderName(b)) + " cannot be run: " + error};
  if (status != 0) {
    return ImageError{std::string(builderName(b)) + " build failed (exit status " + std::to_string(status) +
                      "); its output is above"};
  }
  return true;
}

}  // namespace ringserve::supervisor::image
