#include "supervisor/environments/safe_extract.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <system_error>
#include <vector>

#include "supervisor/environments/sha256.hpp"
#include "transport/unique_fd.hpp"

namespace ringserve::supervisor::environments {
namespace fs = std::filesystem;
namespace {

constexpr std::size_t kReadChunk = 1 << 20;

// The archive file as libarchive sees it: every byte read is hashed and reported as progress.
struct Source {
  transport::UniqueFd fd;
  std::vector<std::byte> buffer = std::vector<std::byte>(kReadChunk);
  Sha256 hash;
  std::uint64_t done = 0;
  std::uint64_t total = 0;
  const ProgressFn* progress = nullptr;
  int readErrno = 0;

  // Reads the next chunk: its size, 0 at the end, -1 on error (readErrno set).
  ssize_t next() {
    for (;;) {
      ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        readErrno = errno;
        return -1;
      }
      hash.update(std::span(buffer.data(), static_cast<std::size_t>(n)));
      done += static_cast<std::uint64_t>(n);
      if (n > 0 && progress && *progress) (*progress)(done, total);
      return n;
    }
  }
};

la_ssize_t readCallback(struct archive* a, void* client, const void** out) {
  auto* s = static_cast<Source*>(client);
  ssize_t n = s->next();
  if (n < 0) {
    archive_set_error(a, s->readErrno, "read failed: %s", std::strerror(s->readErrno));
    return -1;
  }
  *out = s->buffer.data();
  return n;
}

struct ArchiveDeleter {
  void operator()(struct archive* a) const {
    if (a == nullptr) return;
    if (archive_is_reader)
      archive_read_free(a);
    else
      archive_write_free(a);
  }
  bool archive_is_reader = true;
};
using ArchivePtr = std::unique_ptr<struct archive, ArchiveDeleter>;

std::string entryKind(mode_t type) {
  switch (type) {
    case AE_IFCHR: return "a character device";
    case AE_IFBLK: return "a block device";
    case AE_IFIFO: return "a FIFO";
    case AE_IFSOCK: return "a socket";
    default: return "an entry of unknown type";
  }
}

bool isInside(const fs::path& candidate, const fs::path& root) {
  const std::string& c = candidate.native();
  const std::string& r = root.native();
  return c == r || (c.size() > r.size() && c.compare(0, r.size(), r) == 0 && c[r.size()] == '/');
}

// Whether the symlink at `link` (relative, normalised), pointing at `target`, stays inside the
// root when resolved lexically from its own folder.
bool symlinkTargetLexicallyInside(const std::string& link, std::string_view target) {
  if (target.empty() || target.front() == '/') return false;
  // Depth of the link's folder below the root.
  long depth = 0;
  for (char c : link) depth += c == '/';
  std::size_t pos = 0;
  while (pos <= target.size()) {
    std::size_t slash = target.find('/', pos);
    if (slash == std::string_view::npos) slash = target.size();
    std::string_view part = target.substr(pos, slash - pos);
    if (part == "..") {
      if (--depth < 0) return false;
    } else if (!part.empty() && part != ".") {
      ++depth;
    }
    pos = slash + 1;
  }
  return true;
}

std::string archiveError(struct archive* a) {
  const char* s = archive_error_string(a);
  return s ? s : "unknown libarchive error";
}

}  // namespace

EnvResult<std::string> normalizeEntryPath(std::string_view path) {
  if (!path.empty() && path.front() == '/') return EnvError{"absolute path"};
  std::string out;
  std::size_t pos = 0;
  while (pos <= path.size()) {
    std::size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view part = path.substr(pos, slash - pos);
    if (part == "..") return EnvError{"'..' in the path"};
    if (!part.empty() && part != ".") {
      if (!out.empty()) out.push_back('/');
      out.append(part);
    }
    pos = slash + 1;
  }
  return out;
}

EnvResult<ExtractStats> extractArchive(const fs::path& archivePath, const fs::path& dest, const Limits& limits,
                                       const ProgressFn& progress) {
  const std::string name = archivePath.string();
  Source source;
  source.fd = transport::UniqueFd(::open(archivePath.c_str(), O_RDONLY | O_CLOEXEC));
  if (!source.fd) {
    if (errno == ENOENT) return EnvError{"environment tarball " + name + " does not exist"};
    return EnvError{"cannot open environment tarball " + name + ": " + std::strerror(errno)};
  }
  struct stat st {};
  if (::fstat(source.fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return EnvError{"environment tarball " + name + " is not a regular file"};
  }
  source.total = static_cast<std::uint64_t>(st.st_size);
  source.progress = &progress;

  ArchivePtr reader(archive_read_new(), ArchiveDeleter{true});
  ArchivePtr writer(archive_write_disk_new(), ArchiveDeleter{false});
  if (!reader || !writer) return EnvError{"libarchive: out of memory"};
  // Built-in decompressors only: support_filter_all could start external programs (lz4, lzop...).
  archive_read_support_filter_gzip(reader.get());
  archive_read_support_filter_zstd(reader.get());
  archive_read_support_filter_xz(reader.get());
  archive_read_support_filter_bzip2(reader.get());
  archive_read_support_format_tar(reader.get());  // ustar, pax, GNU tar
  // Owners, ACLs, xattrs and file flags are not restored; set-uid entries are refused below.
  archive_write_disk_set_options(
      writer.get(), ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT);
  if (archive_read_open(reader.get(), &source, nullptr, readCallback, nullptr) != ARCHIVE_OK) {
    return EnvError{"environment tarball " + name +
                    " is not a tar archive (.tar, .tar.gz, .tgz, .tar.zst, .tar.xz): " + archiveError(reader.get())};
  }

  ExtractStats stats;
  std::vector<std::string> symlinks;
  const auto refuse = [&](std::string_view entry, std::string_view why) -> EnvError {
    return EnvError{"environment tarball " + name + ": entry '" + std::string(entry) +
                    "' refused: " + std::string(why)};
  };

  for (;;) {
    struct archive_entry* entry = nullptr;
    int r = archive_read_next_header(reader.get(), &entry);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) {
      if (stats.entries == 0 && source.readErrno == 0) {
        return EnvError{
            "environment tarball " + name +
            " is not a tar archive (.tar, .tar.gz, .tgz, .tar.zst, .tar.xz): " + archiveError(reader.get())};
      }
      if (source.readErrno)
        return EnvError{"cannot read environment tarball " + name + ": " + std::strerror(source.readErrno)};
      return EnvError{"environment tarball " + name + " is corrupt or truncated after " +
                      std::to_string(stats.entries) + " entries: " + archiveError(reader.get())};
    }
    const char* rawPath = archive_entry_pathname(entry);
    const std::string entryName = rawPath ? rawPath : "";
    if (++stats.entries > limits.maxEntries) {
      return refuse(entryName, "the archive holds more than " + std::to_string(limits.maxEntries) + " entries (limit)");
    }
    auto rel = normalizeEntryPath(entryName);
    if (!rel) return refuse(entryName, rel.error().message);
    const mode_t type = archive_entry_filetype(entry);
    const char* hardlink = archive_entry_hardlink(entry);
    if (rel->empty()) {
      if (type == AE_IFDIR && !hardlink) continue;  // "./" itself
      return refuse(entryName, "names the archive root");
    }
    if (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK && !hardlink)
      return refuse(entryName, entryKind(type));
    const mode_t mode = archive_entry_perm(entry);
    if (mode & S_ISUID) return refuse(entryName, "set-uid bit");
    if (mode & S_ISGID) return refuse(entryName, "set-gid bit");
    archive_entry_set_perm(entry, mode & 0777);  // no sticky bit either

    const fs::path target = dest / *rel;
    archive_entry_set_pathname(entry, target.c_str());
    if (hardlink) {
      auto linkRel = normalizeEntryPath(hardlink);
      if (!linkRel || linkRel->empty()) {
        return refuse(entryName, "hard link to '" + std::string(hardlink) + "' outside the environment");
      }
      // The link target must be a real path inside (not reached through a symlink).
      const fs::path linkTarget = dest / *linkRel;
      std::error_code ec;
      fs::path resolved = fs::weakly_canonical(linkTarget, ec);
      if (ec || resolved != linkTarget) {
        return refuse(entryName,
                      "hard link to '" + std::string(hardlink) + "' through a symbolic link or to a missing file");
      }
      archive_entry_set_hardlink(entry, linkTarget.c_str());
    } else if (type == AE_IFLNK) {
      const char* linkTo = archive_entry_symlink(entry);
      std::string to = linkTo ? linkTo : "";
      if (!symlinkTargetLexicallyInside(*rel, to)) {
        return refuse(entryName, "symbolic link to '" + to + "' points outside the environment");
      }
      symlinks.push_back(*rel);
    } else if (type == AE_IFREG) {
      const auto declared = static_cast<std::uint64_t>(std::max<la_int64_t>(0, archive_entry_size(entry)));
      if (declared > limits.maxBytes || stats.bytes + declared > limits.maxBytes) {
        return refuse(entryName, "the archive expands past the limit of " + std::to_string(limits.maxBytes) + " bytes");
      }
    }

    r = archive_write_header(writer.get(), entry);
    if (r < ARCHIVE_WARN) {
      const int e = archive_errno(writer.get());
      if (e == ENOSPC || e == EDQUOT || e == EIO || e == EROFS) {
        return EnvError{"cannot unpack environment tarball " + name + " at entry '" + entryName +
                        "': " + archiveError(writer.get())};
      }
      return refuse(entryName, archiveError(writer.get()));
    }
    if (type == AE_IFREG && !hardlink) {
      for (;;) {
        const void* block = nullptr;
        size_t size = 0;
        la_int64_t offset = 0;
        r = archive_read_data_block(reader.get(), &block, &size, &offset);
        if (r == ARCHIVE_EOF) break;
        if (r < ARCHIVE_WARN) {
          if (source.readErrno)
            return EnvError{"cannot read environment tarball " + name + ": " + std::strerror(source.readErrno)};
          return EnvError{"environment tarball " + name + " is corrupt or truncated in entry '" + entryName +
                          "': " + archiveError(reader.get())};
        }
        stats.bytes += size;
        if (stats.bytes > limits.maxBytes) {
          return refuse(entryName,
                        "the archive expands past the limit of " + std::to_string(limits.maxBytes) + " bytes");
        }
        if (limits.writeHook && !limits.writeHook(stats.bytes - size)) {
          return EnvError{"cannot unpack environment tarball " + name + " at entry '" + entryName +
                          "': write failed: " + std::strerror(ENOSPC)};
        }
        // libarchive reports a failed write(2) (ENOSPC included) as ARCHIVE_WARN.
        if (archive_write_data_block(writer.get(), block, size, offset) != ARCHIVE_OK) {
          return EnvError{"cannot unpack environment tarball " + name + " at entry '" + entryName +
                          "': " + archiveError(writer.get())};
        }
      }
    }
    if (archive_write_finish_entry(writer.get()) != ARCHIVE_OK) {
      return EnvError{"cannot unpack environment tarball " + name + " at entry '" + entryName +
                      "': " + archiveError(writer.get())};
    }
  }
  if (archive_write_close(writer.get()) < ARCHIVE_WARN) {
    return EnvError{"cannot unpack environment tarball " + name + ": " + archiveError(writer.get())};
  }
  if (stats.entries == 0) return EnvError{"environment tarball " + name + " holds no files"};

  // Lexical checks cannot see links composed through other links (a/l -> .., m -> a/l/..): now
  // that every entry exists, resolve each symlink as the kernel would.
  for (const auto& link : symlinks) {
    std::error_code ec;
    fs::path resolved = fs::weakly_canonical(dest / link, ec);
    if (ec) return refuse(link, "symbolic link cannot be resolved: " + ec.message());
    if (!isInside(resolved, dest)) return refuse(link, "symbolic link resolves outside the environment");
  }
  // The trailing bytes libarchive did not need (tar padding) still belong to the content hash.
  for (;;) {
    ssize_t n = source.next();
    if (n < 0) return EnvError{"cannot read environment tarball " + name + ": " + std::strerror(source.readErrno)};
    if (n == 0) break;
  }
  stats.sha256 = source.hash.finishHex();
  return stats;
}

}  // namespace ringserve::supervisor::environments
