#include "supervisor/image/commands.hpp"

#include <stdlib.h>

#include <iostream>
#include <memory>

#include "schema/version.hpp"
#include "supervisor/image/builder.hpp"
#include "supervisor/image/context.hpp"

namespace ringserve::supervisor::image {
namespace fs = std::filesystem;

namespace {

struct ImageArgs {
  std::string folder;
  std::string baseImage;
  bool dockerignore = false;
  std::string tag;
  bool noCache = false;
  std::optional<std::string> builder;
  std::string network;
};

DockerfileOptions optionsFor(const ImageArgs& a) {
  DockerfileOptions o;
  o.version = buildVersion();
  o.baseImage = a.baseImage.empty() ? defaultBaseImage(o.version) : a.baseImage;
  o.stageInstallation = !isRingserveImage(o.baseImage);
  return o;
}

int fail(const char* command, const ImageError& e) {
  std::cerr << "ringserve " << command << ": " << e.message << "\n";
  return 1;
}

int runDockerfile(const ImageArgs& a, const fs::path& installation) {
  auto scan = scanFolder(a.folder);
  if (!scan) return fail("dockerfile", scan.error());
  auto written = writeBuildFiles(a.folder, *scan, optionsFor(a), a.dockerignore, installation);
  if (!written) return fail("dockerfile", written.error());
  std::cout << "wrote " << (fs::path(a.folder) / "Dockerfile").string()
            << (a.dockerignore ? " and .dockerignore" : "") << "\n";
  return 0;
}

// The private build context: removed however the build ends.
struct TempDir {
  fs::path path;
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) fs::remove_all(path, ec);
  }
};

int runBuildCommand(const ImageArgs& a, const fs::path& installation) {
  auto scan = scanFolder(a.folder);
  if (!scan) return fail("build", scan.error());
  auto builder = chooseBuilder(a.builder);
  if (!builder) return fail("build", builder.error());
  if (auto ok = checkBuilder(*builder); !ok) return fail("build", ok.error());
  const DockerfileOptions options = optionsFor(a);
  if (auto ok = checkBaseImage(*builder, options.baseImage); !ok) return fail("build", ok.error());

  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/ringserve-build-XXXXXX";
  if (!::mkdtemp(pattern.data())) return fail("build", ImageError{"cannot create a folder for the build context in " + pattern});
  TempDir context{pattern};
  if (auto ok = copyFolder(a.folder, context.path); !ok) return fail("build", ok.error());
  if (auto ok = writeBuildFiles(context.path, *scan, options, true, installation); !ok) return fail("build", ok.error());

  BuildRequest request{context.path.string(), a.tag, a.noCache, a.network};
  std::cerr << "ringserve build: " << a.folder << " on " << options.baseImage << " with " << builderName(*builder) << "\n";
  if (auto ok = runBuild(*builder, request); !ok) return fail("build", ok.error());
  std::cout << "built " << a.tag << "\n";
  return 0;
}

void addBaseImageOption(CLI::App* cmd, ImageArgs& a) {
  cmd->add_option("--base-image", a.baseImage,
                  "Image to start from (ARG BASE_IMAGE). Default ringserve:" + std::string(buildVersion()) +
                      "; an image not named ringserve* is taken for plain Debian 12 and gets this installation");
}

}  // namespace

void addImageCommands(CLI::App& app, int& exitCode, const fs::path& installation) {
  auto args = std::make_shared<ImageArgs>();

  auto* dockerfile = app.add_subcommand("dockerfile", "Write a Dockerfile that builds DIR's runtimes and serves DIR");
  dockerfile->add_option("DIR", args->folder, "Model folder (holds model-settings.json files)")->required();
  dockerfile->add_flag("-i,--include-dockerignore", args->dockerignore, "Also write DIR/.dockerignore");
  addBaseImageOption(dockerfile, *args);
  dockerfile->callback([args, &exitCode, installation] { exitCode = runDockerfile(*args, installation); });

  auto* build = app.add_subcommand("build", "Build an image that serves DIR (docker with BuildKit, or podman)");
  build->add_option("DIR", args->folder, "Model folder (holds model-settings.json files)")->required();
  build->add_option("-t,--tag", args->tag, "Tag of the image to build")->required();
  build->add_flag("--no-cache", args->noCache, "Build without the builder's layer cache");
  addBaseImageOption(build, *args);
  build->add_option("--builder", args->builder, "docker (default when installed, with DOCKER_BUILDKIT=1) or podman")
      ->check(CLI::IsMember({"docker", "podman"}));
  build->add_option("--network", args->network, "The builder's --network for RUN steps (e.g. host)");
  build->callback([args, &exitCode, installation] { exitCode = runBuildCommand(*args, installation); });
}

}  // namespace ringserve::supervisor::image
