#include "clients/pack_env/pack_env_command.hpp"

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>

#include "clients/pack_env/pack_env.hpp"

namespace ringserve::supervisor::environments {
namespace {

struct PackArgs {
  std::vector<std::string> plugins;
  std::string worker;
  std::vector<std::string> includeLibs;
  std::string python;
  std::vector<std::string> sitePackages;
  std::string output;
  std::string format;
  std::string workerProtocol;
  bool quiet = false;
};

std::string mib(std::uint64_t bytes) {
  std::ostringstream s;
  if (bytes < (1u << 20)) {
    s << (bytes + 1023) / 1024 << " KiB";
    return s.str();
  }
  s.precision(bytes < (10ull << 20) ? 2 : 0);
  s << std::fixed << static_cast<double>(bytes) / (1 << 20) << " MiB";
  return s.str();
}

int run(const PackArgs& args) {
  PackOptions options;
  for (const auto& p : args.plugins) options.plugins.emplace_back(p);
  if (!args.worker.empty()) options.worker = args.worker;
  for (const auto& l : args.includeLibs) options.includeLibs.emplace_back(l);
  if (!args.python.empty()) options.python = args.python;
  for (const auto& d : args.sitePackages) options.sitePackages.emplace_back(d);
  options.output = args.output;
  if (!args.format.empty()) {
    options.format = parseTarFormat(args.format);
    if (!options.format) {
      std::cerr << "ringserve pack-env: unknown --format '" << args.format << "' (tar.gz, tar.zst, tar.xz or tar)\n";
      return 1;
    }
  }
  if (!args.workerProtocol.empty()) {
    unsigned major = 0, minor = 0;
    char dot = 0;
    std::istringstream in(args.workerProtocol);
    if (!(in >> major >> dot >> minor) || dot != '.' || !in.eof() || major > 65535 || minor > 65535) {
      std::cerr << "ringserve pack-env: --worker-protocol must be <major>.<minor>, got '" << args.workerProtocol << "'\n";
      return 1;
    }
    options.workerProtocol = ProtocolVersion{static_cast<std::uint16_t>(major), static_cast<std::uint16_t>(minor)};
  }

  // Progress on stderr: one rewritten line on a terminal; otherwise only a line per quarter of a
  // large pack, so a failure in a script stays one line.
  const bool tty = ::isatty(STDERR_FILENO) == 1;
  auto lastQuarter = std::make_shared<int>(-1);
  auto progress = [&, lastQuarter](std::string_view stage, std::uint64_t done, std::uint64_t total) {
    if (args.quiet) return;
    if (stage != "packing") {
      if (tty && done == 0) std::cerr << "\rpack-env: " << stage << "..." << std::flush;
      return;
    }
    const int percent = total ? static_cast<int>(done * 100 / total) : 100;
    if (tty) {
      std::cerr << "\rpack-env: packing " << percent << "% (" << mib(done) << " of " << mib(total) << ")   "
                << (done >= total ? "\n" : "") << std::flush;
    } else if (total >= (64ull << 20) && percent / 25 > *lastQuarter) {
      *lastQuarter = percent / 25;
      std::cerr << "pack-env: packing " << percent << "% (" << mib(done) << " of " << mib(total) << ")\n";
    }
  };
  auto packed = packEnvironment(options, progress);
  if (!packed) {
    if (tty && !args.quiet) std::cerr << "\r";
    std::cerr << "ringserve pack-env: " << packed.error().message << "\n";
    return 1;
  }
  if (!args.quiet) {
    for (const auto& p : packed->manifest.plugins) {
      std::cerr << "pack-env: " << p.file << " (SDK ABI " << toString(p.sdkAbi) << ", classes:";
      for (const auto& c : p.classes) std::cerr << ' ' << c;
      std::cerr << ")\n";
    }
    for (const auto& l : packed->manifest.libraries) std::cerr << "pack-env: " << l << "\n";
    if (const auto& py = packed->python) {
      auto part = [](const PythonPackPart& p) { return std::to_string(p.files) + " files, " + mib(p.bytes); };
      std::cerr << "pack-env: Python " << py->version.text() << " (" << py->abiTag << "): ";
      if (py->ownInterpreter) std::cerr << "interpreter " << part(py->interpreter) << ", standard library " << part(py->standardLibrary) << ", ";
      std::cerr << "site-packages " << part(py->sitePackages) << "; left out " << part(py->leftOut)
                << " (tests, idlelib, tkinter, ensurepip, caches)\n";
    }
    if (!packed->systemLibraries.empty()) {
      std::cerr << "pack-env: left to the base system:";
      for (const auto& s : packed->systemLibraries) std::cerr << ' ' << s;
      std::cerr << "\n";
    }
  }
  const std::size_t files = packed->files.size() + (packed->python ? packed->python->files.size() : 0);
  std::cout << "wrote " << args.output << ": " << files << " files, " << mib(packed->inputBytes)
            << " -> " << mib(packed->tarballBytes) << ", environment " << packed->key << "\n";
  return 0;
}

}  // namespace

void addPackEnvCommand(CLI::App& app, int& exitCode) {
  auto args = std::make_shared<PackArgs>();
  CLI::App* cmd = app.add_subcommand(
      "pack-env",
      "Build an environment tarball from runtime plugins (their non-system shared-library dependencies, "
      "read from the ELF files), an optional worker binary, an optional Python and its packages, and the "
      "ringserve-env.json manifest");
  cmd->add_option("plugins", args->plugins, "Runtime plugins (.so) to pack into lib/");
  cmd->add_option("-o,--output", args->output, "The tarball to write (.tar.gz, .tar.zst, .tar.xz or .tar)")->required();
  cmd->add_option("--worker", args->worker, "A ringserve-worker binary to pack as bin/ringserve-worker");
  cmd->add_option("--python", args->python,
                  "A Python installation or venv (shared libpython) to pack: its libpython, interpreter and standard "
                  "library without tests, idlelib, tkinter, ensurepip and caches");
  cmd->add_option("--site-packages", args->sitePackages,
                  "A site-packages folder to pack into lib/python3.X/site-packages (repeatable)");
  cmd->add_option("--include-lib", args->includeLibs, "A shared library to pack into lib/ as well (repeatable)");
  cmd->add_option("--format", args->format, "tar.gz (default unless the output name says otherwise), tar.zst, tar.xz, tar");
  cmd->add_option("--worker-protocol", args->workerProtocol,
                  "The protocol <major>.<minor> the packed worker speaks (default: this build's)");
  cmd->add_flag("-q,--quiet", args->quiet, "No progress output");
  cmd->callback([args, &exitCode] { exitCode = run(*args); });
}

}  // namespace ringserve::supervisor::environments
