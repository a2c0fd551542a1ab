#pragma once
// Test helper: reads a whole tarball back (path -> content, mode) with libarchive.
#include <archive.h>
#include <archive_entry.h>

#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>

namespace ringserve::supervisor::environments::envtest {

struct TarContent {
  struct Entry {
    std::string content;
    unsigned mode = 0;
    unsigned type = 0;
  };
  std::map<std::string, Entry> entries;
  int filter = ARCHIVE_FILTER_NONE;  // the outermost compression
};

inline TarContent readTar(const std::filesystem::path& file) {
  TarContent out;
  struct archive* a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_all(a);
  if (archive_read_open_filename(a, file.c_str(), 1 << 16) != ARCHIVE_OK) {
    std::string e = archive_error_string(a);
    archive_read_free(a);
    throw std::runtime_error(e);
  }
  struct archive_entry* e = nullptr;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    TarContent::Entry entry;
    entry.mode = archive_entry_perm(e);
    entry.type = archive_entry_filetype(e);
    char buf[65536];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof buf)) > 0) entry.content.append(buf, static_cast<std::size_t>(n));
    out.entries[archive_entry_pathname(e)] = std::move(entry);
  }
  out.filter = archive_filter_code(a, 0);
  archive_read_free(a);
  return out;
}

}  // namespace ringserve::supervisor::environments::envtest
