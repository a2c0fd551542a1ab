#pragma once
// Finds the shared libraries an ELF object needs the way the dynamic loader (glibc ld.so) would,
// without running it, and splits them into system libraries (left out of an environment) and
// the rest (packed into its lib/).
//
// Search order for a DT_NEEDED name of object O (ld.so(8)): a name with a '/' is a path; else
// DT_RPATH of O and of the objects that led to O (only while O has no DT_RUNPATH), then
// LD_LIBRARY_PATH, then DT_RUNPATH of O, then /etc/ld.so.cache, then the default folders. A
// candidate counts only if it is an ELF file of O's class and machine. $ORIGIN is expanded.
//
// "System" rule: a library is a system library when the path it resolved to lies under /lib,
// /lib32, /lib64, /libx32, /usr/lib, /usr/lib32 or /usr/lib64 (the base system's package-managed
// folders; /usr/local, /opt, build trees and home folders are not), or when its name is one of
// glibc's own (libc, libm, libpthread, libdl, librt, libresolv, libutil, the loader), which must
// never be packed. System libraries are not followed further.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "supervisor/environments/elf_file.hpp"
#include "supervisor/environments/env_error.hpp"

namespace ringserve::supervisor::environments {

struct ResolvedLibrary {
  std::string name;            // the DT_NEEDED name (the file name it gets in lib/)
  std::filesystem::path path;  // where it was found
  std::filesystem::path neededBy;
  bool system = false;
};

struct ResolverOptions {
  std::vector<std::filesystem::path> ldLibraryPath;  // default: $LD_LIBRARY_PATH
  std::filesystem::path ldCache = "/etc/ld.so.cache";
  std::vector<std::filesystem::path> systemPrefixes = {"/lib",     "/lib32",     "/lib64",    "/libx32",
                                                       "/usr/lib", "/usr/lib32", "/usr/lib64"};
  static ResolverOptions fromEnvironment();
};

// Every library reachable from `roots` through DT_NEEDED, non-system ones followed transitively,
// each listed once, dependencies before the objects that need them (dlopen order). An error naming the
// library and who needs it when one cannot be found (with the folders searched).
EnvResult<std::vector<ResolvedLibrary>> resolveDependencies(const std::vector<std::filesystem::path>& roots,
                                                            const ResolverOptions& options);

// The (name, path) entries of an ld.so.cache file (glibc's "glibc-ld.so.cache1.1" format);
// empty when the file is missing or unreadable.
std::vector<std::pair<std::string, std::string>> readLdCache(const std::filesystem::path& file);

bool isGlibcLibrary(const std::string& name);

}  // namespace ringserve::supervisor::environments
