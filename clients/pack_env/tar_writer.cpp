#include "clients/pack_env/tar_writer.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <vector>

#include "transport/unique_fd.hpp"

namespace ringserve::supervisor::environments {
namespace fs = std::filesystem;

struct TarWriter::State {
  struct archive* a = nullptr;
  fs::path output;
  fs::path partial;
  ProgressFn progress;
  std::uint64_t written = 0;
  bool finished = false;
  ~State() {
    if (a) archive_write_free(a);
    if (!finished) {
      std::error_code ec;
      fs::remove(partial, ec);
    }
  }
  EnvError error(const std::string& what) const {
    return EnvError{"cannot write " + output.string() + " (" + what +
                    "): " + (a && archive_error_string(a) ? archive_error_string(a) : "unknown error")};
  }
};

std::optional<TarFormat> parseTarFormat(std::string_view t) {
  if (t == "tar.gz" || t == "tgz" || t == "gz" || t == "gzip") return TarFormat::gzip;
  if (t == "tar.zst" || t == "zst" || t == "zstd") return TarFormat::zstd;
  if (t == "tar.xz" || t == "xz") return TarFormat::xz;
  if (t == "tar") return TarFormat::none;
  return std::nullopt;
}

TarFormat tarFormatForName(const fs::path& output) {
  const std::string n = output.filename().string();
  if (n.ends_with(".tar.zst") || n.ends_with(".tzst")) return TarFormat::zstd;
  if (n.ends_with(".tar.xz") || n.ends_with(".txz")) return TarFormat::xz;
  if (n.ends_with(".tar")) return TarFormat::none;
  return TarFormat::gzip;
}

TarWriter::TarWriter(std::unique_ptr<State> s) : s_(std::move(s)) {}
TarWriter::~TarWriter() = default;
TarWriter::TarWriter(TarWriter&&) noexcept = default;

EnvResult<TarWriter> TarWriter::create(const fs::path& output, TarFormat format, ProgressFn progress) {
  auto s = std::make_unique<State>();
  s->output = output;
  s->partial = output.string() + ".partial-" + std::to_string(::getpid());
  s->progress = std::move(progress);
  s->a = archive_write_new();
  if (!s->a) return EnvError{"libarchive: out of memory"};
  archive_write_set_format_pax_restricted(s->a);
  int r = ARCHIVE_OK;
  switch (format) {
    case TarFormat::gzip: r = archive_write_add_filter_gzip(s->a); break;
    case TarFormat::zstd: r = archive_write_add_filter_zstd(s->a); break;
    case TarFormat::xz: r = archive_write_add_filter_xz(s->a); break;
    case TarFormat::none: break;
  }
  if (r != ARCHIVE_OK) return s->error("compression");
  if (archive_write_open_filename(s->a, s->partial.c_str()) != ARCHIVE_OK) return s->error("open");
  return TarWriter(std::move(s));
}

namespace {
struct EntryPtr {
  struct archive_entry* e = archive_entry_new();
  ~EntryPtr() { archive_entry_free(e); }
};
void setCommon(struct archive_entry* e, const std::string& path, unsigned type, unsigned mode, std::time_t mtime) {
  archive_entry_set_pathname(e, path.c_str());
  archive_entry_set_filetype(e, type);
  archive_entry_set_perm(e, mode & 0777);
  archive_entry_set_uid(e, 0);
  archive_entry_set_gid(e, 0);
  archive_entry_set_mtime(e, mtime, 0);
}
}  // namespace

std::optional<EnvError> TarWriter::addDirectory(const std::string& path) {
  EntryPtr entry;
  setCommon(entry.e, path, AE_IFDIR, 0755, std::time(nullptr));
  if (archive_write_header(s_->a, entry.e) != ARCHIVE_OK) return s_->error(path);
  return std::nullopt;
}

std::optional<EnvError> TarWriter::addSymlink(const std::string& target, const std::string& path) {
  EntryPtr entry;
  setCommon(entry.e, path, AE_IFLNK, 0777, std::time(nullptr));
  archive_entry_set_symlink(entry.e, target.c_str());
  if (archive_write_header(s_->a, entry.e) != ARCHIVE_OK) return s_->error(path);
  return std::nullopt;
}

std::optional<EnvError> TarWriter::addBytes(std::string_view content, const std::string& path, unsigned mode) {
  EntryPtr entry;
  setCommon(entry.e, path, AE_IFREG, mode, std::time(nullptr));
  archive_entry_set_size(entry.e, static_cast<la_int64_t>(content.size()));
  if (archive_write_header(s_->a, entry.e) != ARCHIVE_OK) return s_->error(path);
  if (archive_write_data(s_->a, content.data(), content.size()) != static_cast<la_ssize_t>(content.size())) {
    return s_->error(path);
  }
  return std::nullopt;
}

std::optional<EnvError> TarWriter::addFile(const fs::path& source, const std::string& path,
                                           std::optional<unsigned> mode) {
  transport::UniqueFd fd(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0) {
    return EnvError{"cannot read " + source.string() + ": " + std::strerror(errno)};
  }
  if (!S_ISREG(st.st_mode)) return EnvError{source.string() + " is not a regular file"};
  EntryPtr entry;
  setCommon(entry.e, path, AE_IFREG, mode.value_or(st.st_mode), st.st_mtim.tv_sec);
  archive_entry_set_size(entry.e, st.st_size);
  if (archive_write_header(s_->a, entry.e) != ARCHIVE_OK) return s_->error(path);
  std::vector<char> buffer(1 << 20);
  std::uint64_t copied = 0;
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return EnvError{"cannot read " + source.string() + ": " + std::strerror(errno)};
    if (n == 0) break;
    // Never write more than the header declared (the file may grow while we read).
    const auto take = static_cast<std::size_t>(
        std::min<std::uint64_t>(static_cast<std::uint64_t>(n), static_cast<std::uint64_t>(st.st_size) - copied));
    if (take == 0) break;
    if (archive_write_data(s_->a, buffer.data(), take) != static_cast<la_ssize_t>(take)) return s_->error(path);
    copied += take;
    s_->written += take;
    if (s_->progress) s_->progress(s_->written);
  }
  if (copied != static_cast<std::uint64_t>(st.st_size))
    return EnvError{source.string() + " shrank while it was packed"};
  return std::nullopt;
}

std::optional<EnvError> TarWriter::finish() {
  if (archive_write_close(s_->a) != ARCHIVE_OK) return s_->error("close");
  std::error_code ec;
  fs::rename(s_->partial, s_->output, ec);
  if (ec) return EnvError{"cannot rename " + s_->partial.string() + " to " + s_->output.string() + ": " + ec.message()};
  s_->finished = true;
  return std::nullopt;
}

}  // namespace ringserve::supervisor::environments
