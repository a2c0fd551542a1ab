#include "supervisor/image/context.hpp"

#include <fstream>

namespace ringserve::supervisor::image {
namespace fs = std::filesystem;

namespace {

// Replaces `path` with a new file: in a `build` context it may be a hard link to the user's file.
ImageResult<bool> writeFile(const fs::path& path, const std::string& text) {
  std::error_code ec;
  fs::remove(path, ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return ImageError{"cannot write " + path.string()};
  return true;
}

// The parts of an installation an image needs, relative to its prefix.
constexpr const char* kInstalledParts[] = {
    "bin/ringserve", "bin/ringserve-worker", "lib/ringserve", "lib/libringserve_sdk.a",
    "lib/cmake/ringserve", "include/ringserve", "share/ringserve"};

ImageResult<bool> stageInstallation(const fs::path& installation, const fs::path& dest) {
  std::error_code ec;
  for (const char* part : kInstalledParts) {
    if (!fs::exists(installation / part, ec)) {
      return ImageError{installation.string() + " is not a ringserve installation (it has no " + part +
                        "); install one with `cmake --install BUILD_DIR --prefix PREFIX` and run PREFIX/bin/ringserve"};
    }
  }
  fs::remove_all(dest, ec);
  for (const char* part : kInstalledParts) {
    const fs::path target = dest / part;
    fs::create_directories(target.parent_path(), ec);
    fs::copy(installation / part, target, fs::copy_options::recursive | fs::copy_options::copy_symlinks, ec);
    if (ec) return ImageError{"cannot stage " + (installation / part).string() + " into " + target.string() + ": " + ec.message()};
  }
  return true;
}

}  // namespace

ImageResult<bool> writeBuildFiles(const fs::path& dir, const FolderScan& scan, const DockerfileOptions& options,
                                  bool dockerignore, const fs::path& installation) {
  if (options.stageInstallation) {
    auto staged = stageInstallation(installation, dir / kStageDir);
    if (!staged) return staged;
  }
  auto written = writeFile(dir / "Dockerfile", renderDockerfile(scan, options));
  if (!written || !dockerignore) return written;
  return writeFile(dir / ".dockerignore", renderDockerignore());
}

ImageResult<bool> copyFolder(const fs::path& folder, const fs::path& context) {
  std::error_code ec;
  fs::create_directories(context, ec);
  if (ec) return ImageError{"cannot create " + context.string() + ": " + ec.message()};
  for (const auto& entry : fs::directory_iterator(folder, ec)) {
    if (entry.is_directory(ec) && skippedFolder(entry.path().filename().string())) continue;
    const fs::path target = context / entry.path().filename();
    if (entry.is_directory(ec) && !entry.is_symlink(ec)) {
      auto sub = copyFolder(entry.path(), target);
      if (!sub) return sub;
      continue;
    }
    fs::create_hard_link(entry.path(), target, ec);
    if (ec) {
      ec.clear();
      fs::copy(entry.path(), target, fs::copy_options::copy_symlinks, ec);
    }
    if (ec) return ImageError{"cannot copy " + entry.path().string() + " into " + context.string() + ": " + ec.message()};
  }
  if (ec) return ImageError{"cannot read " + folder.string() + ": " + ec.message()};
  return true;
}

}  // namespace ringserve::supervisor::image
