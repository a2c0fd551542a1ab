#pragma once
// Test helper: writes tar archives with arbitrary (also hostile) entries through libarchive.
#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace ringserve::supervisor::environments::envtest {

class TarBuilder {
 public:
  enum class Compression { none, gzip, zstd, xz };

  TarBuilder& file(std::string path, std::string content, unsigned mode = 0644) {
    entries_.push_back({std::move(path), std::move(content), AE_IFREG, mode, "", ""});
    return *this;
  }
  TarBuilder& dir(std::string path, unsigned mode = 0755) {
    entries_.push_back({std::move(path), "", AE_IFDIR, mode, "", ""});
    return *this;
  }
  TarBuilder& symlink(std::string path, std::string target) {
    entries_.push_back({std::move(path), "", AE_IFLNK, 0777, std::move(target), ""});
    return *this;
  }
  TarBuilder& hardlink(std::string path, std::string target) {
    entries_.push_back({std::move(path), "", AE_IFREG, 0644, "", std::move(target)});
    return *this;
  }
  TarBuilder& special(std::string path, unsigned type) {
    entries_.push_back({std::move(path), "", type, 0644, "", ""});
    return *this;
  }

  void write(const std::filesystem::path& out, Compression c = Compression::gzip) const {
    struct archive* a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    if (c == Compression::gzip) archive_write_add_filter_gzip(a);
    if (c == Compression::zstd) archive_write_add_filter_zstd(a);
    if (c == Compression::xz) archive_write_add_filter_xz(a);
    if (archive_write_open_filename(a, out.c_str()) != ARCHIVE_OK) throw std::runtime_error(archive_error_string(a));
    for (const auto& e : entries_) {
      struct archive_entry* entry = archive_entry_new();
      archive_entry_set_pathname(entry, e.path.c_str());
      archive_entry_set_filetype(entry, e.type);
      archive_entry_set_perm(entry, e.mode);
      if (e.type == AE_IFREG && e.hardlink.empty()) archive_entry_set_size(entry, static_cast<la_int64_t>(e.content.size()));
      if (!e.symlink.empty()) archive_entry_set_symlink(entry, e.symlink.c_str());
      if (!e.hardlink.empty()) {
        archive_entry_set_hardlink(entry, e.hardlink.c_str());
        archive_entry_set_size(entry, 0);
      }
      if (e.type == AE_IFCHR || e.type == AE_IFBLK) archive_entry_set_rdev(entry, makedev(1, 3));
      if (archive_write_header(a, entry) != ARCHIVE_OK) throw std::runtime_error(archive_error_string(a));
      if (!e.content.empty()) archive_write_data(a, e.content.data(), e.content.size());
      archive_entry_free(entry);
    }
    archive_write_close(a);
    archive_write_free(a);
  }

 private:
  struct Entry {
    std::string path;
    std::string content;
    unsigned type;
    unsigned mode;
    std::string symlink;
    std::string hardlink;
  };
  std::vector<Entry> entries_;
};

}  // namespace ringserve::supervisor::environments::envtest
