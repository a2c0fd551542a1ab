#pragma once
// The image builders `ringserve build` drives: Docker (with BuildKit) or Podman. Each check
// answers within seconds: a builder that does not answer is killed and reported.
#include <optional>
#include <string>
#include <vector>

#include "supervisor/image/error.hpp"

namespace ringserve::supervisor::image {

enum class Builder { Docker, Podman };
const char* builderName(Builder b);

// `requested` ("docker" / "podman") or, without one, docker when it is on PATH, else podman.
ImageResult<Builder> chooseBuilder(const std::optional<std::string>& requested);

// The builder's program answers (docker: its daemon; podman: its storage and runtime).
ImageResult<bool> checkBuilder(Builder b);

// `image` is in the builder's local image store (builds never pull: see buildCommand()).
ImageResult<bool> checkBaseImage(Builder b, const std::string& image);

struct BuildRequest {
  std::string context;     // folder holding the Dockerfile
  std::string tag;
  bool noCache = false;
  std::string network;     // empty: the builder's default (podman on some hosts needs "host")
};

// The argv of the build (also the command `ringserve build` prints before running it).
std::vector<std::string> buildCommand(Builder b, const BuildRequest& r);

// Runs the build, its output streaming to this process's stdout/stderr.
ImageResult<bool> runBuild(Builder b, const BuildRequest& r);

}  // namespace ringserve::supervisor::image
