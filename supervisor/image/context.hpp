#pragma once
// Turning a model folder into a build context: the generated Dockerfile (and .dockerignore), the
// staged installation for a plain Debian base, and for `build` a private copy of the folder.
#include <filesystem>

#include "supervisor/image/dockerfile.hpp"

namespace ringserve::supervisor::image {

// Writes `dir`/Dockerfile (and `dir`/.dockerignore when asked); when options.stageInstallation,
// also replaces `dir`/.ringserve with a copy of the installation at `installation` (the prefix
// holding bin/ringserve). Fails, writing nothing, when that is a build tree rather than an
// installation (no SDK headers to stage).
ImageResult<bool> writeBuildFiles(const std::filesystem::path& dir, const FolderScan& scan,
                                  const DockerfileOptions& options, bool dockerignore,
                                  const std::filesystem::path& installation);

// Copies `folder` into the new folder `context` (hard links where the file system allows, copies
// elsewhere), leaving out the folders the scan skips.
ImageResult<bool> copyFolder(const std::filesystem::path& folder, const std::filesystem::path& context);

}  // namespace ringserve::supervisor::image
