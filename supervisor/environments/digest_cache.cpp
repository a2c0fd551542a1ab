#include "supervisor/environments/digest_cache.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "supervisor/environments/sha256.hpp"

namespace ringserve::supervisor::environments {
namespace fs = std::filesystem;
namespace {

std::optional<std::string> identity(const fs::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return std::nullopt;
  std::ostringstream s;
  s << "v1 " << st.st_dev << ' ' << st.st_ino << ' ' << st.st_size << ' ' << st.st_mtim.tv_sec << '.'
    << st.st_mtim.tv_nsec << ' ' << st.st_ctim.tv_sec << '.' << st.st_ctim.tv_nsec;
  return s.str();
}

fs::path entryFor(const fs::path& tarball, const fs::path& cacheDir) {
  return cacheDir / sha256Hex(fs::absolute(tarball).lexically_normal().string());
}

}  // namespace

EnvResult<std::string> tarballDigest(const fs::path& tarball, const fs::path& cacheDir) {
  const auto before = identity(tarball);
  const fs::path entry = entryFor(tarball, cacheDir);
  if (before) {
    std::ifstream in(entry);
    std::string line, digest;
    if (std::getline(in, line) && std::getline(in, digest) && line == *before && digest.size() == 64) return digest;
  }
  auto digest = sha256File(tarball);
  if (!digest) return digest;
  // Store only when the file did not change while it was read.
  if (before && identity(tarball) == before) {
    std::error_code ec;
    fs::create_directories(cacheDir, ec);
    const fs::path tmp = entry.string() + ".tmp" + std::to_string(::getpid());
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << *before << '\n' << *digest << '\n';
    }
    fs::rename(tmp, entry, ec);
    if (ec) fs::remove(tmp, ec);
  }
  return digest;
}

void forgetTarballDigest(const fs::path& tarball, const fs::path& cacheDir) {
  std::error_code ec;
  fs::remove(entryFor(tarball, cacheDir), ec);
}

}  // namespace ringserve::supervisor::environments
