#pragma once
// The Dockerfile and .dockerignore `ringserve dockerfile` writes and `ringserve build` builds.
// Pure text rendering from a FolderScan: the golden-file tests call these directly.
#include <string>
#include <string_view>

#include "supervisor/image/folder_scan.hpp"

namespace ringserve::supervisor::image {

// Where things live inside every ringserve image (the repository's Dockerfile uses the same).
inline constexpr std::string_view kPrefix = "/opt/ringserve";
inline constexpr std::string_view kModelsDir = "/mnt/models";
// The folder, inside the build context, that holds the staged installation for a plain base.
inline constexpr std::string_view kStageDir = ".ringserve";

struct DockerfileOptions {
  std::string baseImage;         // the ARG BASE_IMAGE default
  bool stageInstallation = false;  // the base is plain Debian 12: install ringserve from kStageDir
  std::string version;           // ringserve's version, named in the header comment
};

// The default base: the image the repository's Dockerfile builds, `ringserve:<version>`.
std::string defaultBaseImage(std::string_view version);

// Whether `image` names a ringserve image (its repository's last path component starts with
// "ringserve", as `ringserve:0.1.0` or `localhost/ringserve-gpu:1` do); anything else is taken for
// a plain Debian 12 image that ringserve is installed into.
bool isRingserveImage(std::string_view image);

std::string renderDockerfile(const FolderScan& scan, const DockerfileOptions& options);
std::string renderDockerignore();

}  // namespace ringserve::supervisor::image
