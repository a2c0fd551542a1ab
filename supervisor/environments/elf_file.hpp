#pragma once
// What pack-env and the environment checks need from an ELF file: its class and machine, and the
// dynamic section's DT_NEEDED / DT_SONAME / DT_RPATH / DT_RUNPATH. Read from the file with every
// offset bounds-checked (a malformed file is an error value, never a crash).
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "supervisor/environments/env_error.hpp"

namespace ringserve::supervisor::environments {

struct ElfInfo {
  bool is64 = false;
  std::uint16_t machine = 0;  // e_machine (EM_X86_64, ...)
  std::uint16_t type = 0;     // e_type (ET_EXEC, ET_DYN, ...)
  std::string soname;
  std::vector<std::string> needed;
  std::vector<std::string> rpath;    // DT_RPATH entries, unexpanded ($ORIGIN kept)
  std::vector<std::string> runpath;  // DT_RUNPATH entries, unexpanded
};

// Errors: "<path> is not an ELF file" / "... malformed ...", "<path> does not exist", read errors.
EnvResult<ElfInfo> readElf(const std::filesystem::path& file);

// `uname -m` spelling of an e_machine value ("x86_64", "aarch64"; "machine 243" otherwise).
std::string elfMachineName(std::uint16_t machine);
// e_machine of this build.
std::uint16_t hostElfMachine();

}  // namespace ringserve::supervisor::environments
