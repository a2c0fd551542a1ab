#include "supervisor/image/dockerfile.hpp"

#include <fmt/format.h>

namespace ringserve::supervisor::image {

std::string defaultBaseImage(std::string_view version) { return fmt::format("ringserve:{}", version); }

bool isRingserveImage(std::string_view image) {
  // Drop a digest, then the tag (a ':' after the last '/': "host:5000/x" has a port, not a tag).
  image = image.substr(0, image.find('@'));
  const auto slash = image.rfind('/');
  std::string_view repo = slash == std::string_view::npos ? image : image.substr(slash + 1);
  repo = repo.substr(0, repo.find(':'));
  return repo.starts_with("ringserve");
}

namespace {

// A folder as a COPY source/destination: "." is the context root.
std::string dirPath(const std::string& rel) { return rel == "." ? "" : rel + "/"; }

void baseStage(std::string& out, const DockerfileOptions& o) {
  if (!o.stageInstallation) {
    out += "# --- ringserve: the base image as it is (ringserve in /opt/ringserve, runtime packages, user 1000)\n";
    out += "FROM ${BASE_IMAGE} AS ringserve\n\n";
    return;
  }
  out += fmt::format(
      "# --- ringserve: a plain Debian 12 base, given the installation that wrote this file (staged in\n"
      "# {stage}/ beside it), its runtime packages, the non-root user and the folders a server writes to.\n"
      "FROM ${{BASE_IMAGE}} AS ringserve\n"
      "USER 0\n"
      "COPY {stage}/ {prefix}/\n"
      "RUN {prefix}/share/ringserve/image-setup.sh\n\n",
      fmt::arg("stage", kStageDir), fmt::arg("prefix", kPrefix));
}

void runtimesStage(std::string& out, const FolderScan& scan) {
  if (scan.cmakeProjects.empty()) return;
  out += fmt::format(
      "# --- runtimes: the folder's C++ runtimes (its CMake projects), built against the image's SDK\n"
      "FROM ringserve AS runtimes\n"
      "USER 0\n"
      "RUN {prefix}/share/ringserve/apt-install.sh {prefix}/share/ringserve/sdk-build-packages.txt\n",
      fmt::arg("prefix", kPrefix));
  std::string list;
  for (const auto& p : scan.cmakeProjects) {
    out += fmt::format("COPY {0} /src/{0}\n", dirPath(p).empty() ? "./" : dirPath(p));
    list += (list.empty() ? "" : " ") + p;
  }
  out += fmt::format("RUN {}/share/ringserve/build-runtimes.sh /src /out {}\n\n", kPrefix, list);
}

void modelsStage(std::string& out) {
  out += fmt::format(
      "# --- models: the folder as the image serves it, without the files that only build the image\n"
      "FROM ringserve AS models\n"
      "USER 0\n"
      "COPY . /models/\n"
      "RUN rm -rf /models/{} /models/Dockerfile /models/.dockerignore /models/settings.json\n\n",
      kStageDir);
}

void pythonSteps(std::string& out, const FolderScan& scan) {
  if (!scan.builtinPythonRuntimes.empty()) {
    // Before the requirements: pip then finds these installed instead of fetching them.
    std::string names, lists;
    for (const auto& r : scan.builtinPythonRuntimes) {
      names += (names.empty() ? "" : ", ") + r;
      std::string stem = r.substr(r.find('_') + 1);  // mlserver_sklearn -> sklearn
      lists += fmt::format(" \\\n    {}/share/ringserve/python-{}-packages.txt", kPrefix, stem);
    }
    out += fmt::format(
        "# The libraries of the built-in Python runtimes the folder's models name ({}), from Debian.\n"
        "RUN {}/share/ringserve/apt-install.sh{}\n",
        names, kPrefix, lists);
  }
  if (scan.requirements) {
    out += fmt::format(
        "# The folder's requirements.txt, into the image's Python (pip needs a reachable package index).\n"
        "COPY {0} /tmp/ringserve-image/{0}\n"
        "RUN {1}/share/ringserve/pip-install.sh /tmp/ringserve-image/{0}\n",
        *scan.requirements, kPrefix);
  }
  if (scan.condaEnvironment) {
    out += fmt::format(
        "# The folder's conda-style environment, installed with pip (images have no conda).\n"
        "COPY {0} /tmp/ringserve-image/{0}\n"
        "RUN {1}/share/ringserve/pip-install.sh --conda /tmp/ringserve-image/{0}\n",
        *scan.condaEnvironment, kPrefix);
  }
}

// A value for ENV KEY="...": inside double quotes the builder still expands $ and takes \ as the
// escape character. (folder_scan.cpp refuses values with a newline, which ENV cannot hold.)
std::string quoted(const std::string& value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\' || c == '$') out += '\\';
    out += c;
  }
  return out + "\"";
}

void settingsEnv(std::string& out, const FolderScan& scan) {
  if (scan.settingsEnv.empty()) return;
  out += "# The folder's settings.json as defaults that `-e RINGSERVE_...` / `-e MLSERVER_...` override (a field\n"
         "# in a settings.json wins over the environment, so the file itself stays out of the image).\n";
  for (std::size_t i = 0; i < scan.settingsEnv.size(); ++i) {
    out += i == 0 ? "ENV " : "    ";
    out += scan.settingsEnv[i].first + "=" + quoted(scan.settingsEnv[i].second);
    out += i + 1 < scan.settingsEnv.size() ? " \\\n" : "\n";
  }
}

}  // namespace

std::string renderDockerfile(const FolderScan& scan, const DockerfileOptions& o) {
  std::string out = fmt::format(
      "# syntax=docker/dockerfile:1\n"
      "# Written by `ringserve dockerfile` (ringserve {version}): an image that serves this folder from\n"
      "# {models}. Build it with `ringserve build`, `DOCKER_BUILDKIT=1 docker build .` or\n"
      "# `podman build --format docker .`. The folder's settings.json becomes the image's ENV defaults,\n"
      "# which RINGSERVE_* / MLSERVER_* variables given to the container override.\n"
      "ARG BASE_IMAGE={base}\n\n",
      fmt::arg("version", o.version), fmt::arg("models", kModelsDir), fmt::arg("base", o.baseImage));
  baseStage(out, o);
  runtimesStage(out, scan);
  modelsStage(out);
  out += "# --- the image: runs as user 1000 (or any UID with group 0), serves /mnt/models\nFROM ringserve\nUSER 0\n";
  pythonSteps(out, scan);
  if (!scan.cmakeProjects.empty()) {
    out += fmt::format("COPY --from=runtimes /out/ {}/lib/ringserve/runtimes/\n", kPrefix);
  }
  out += fmt::format(
      "COPY --from=models /models/ {models}/\n"
      "ENV PATH={prefix}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\\n"
      "    HOME=/home/ringserve \\\n"
      "    XDG_RUNTIME_DIR=/run/ringserve \\\n"
      "    MLSERVER_ENVIRONMENTS_DIR=/var/lib/ringserve/envs\n",
      fmt::arg("models", kModelsDir), fmt::arg("prefix", kPrefix));
  settingsEnv(out, scan);
  out += fmt::format(
      "WORKDIR {models}\n"
      "USER 1000\n"
      "EXPOSE 8080 8081 8082\n"
      "HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \\\n"
      "  CMD [\"{prefix}/share/ringserve/healthcheck.sh\"]\n"
      "CMD [\"ringserve\", \"start\", \"{models}\"]\n",
      fmt::arg("models", kModelsDir), fmt::arg("prefix", kPrefix));
  return out;
}

std::string renderDockerignore() {
  // Kept in step with folder_scan.cpp's skipped folders; environment tarballs and prebuilt .so
  // files stay in (a model may ship them). Patterns match files as well as folders, so build
  // trees are left out only under the exact name `build` (`build*` would drop build.py).
  return "# Written by `ringserve dockerfile -i`: what the image of this folder leaves out.\n"
         ".git\n"
         ".envs\n"
         ".metrics\n"
         "**/.git\n"
         "build\n"
         "**/build\n"
         "**/__pycache__\n"
         "**/*.pyc\n"
         "Dockerfile\n"
         ".dockerignore\n";
}

}  // namespace ringserve::supervisor::image
