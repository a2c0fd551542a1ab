#pragma once
// Writes an environment tarball (pax tar; gzip, zstd, xz or none) through libarchive. The archive
// goes to "<output>.partial-<pid>" and is renamed onto <output> by finish(), so a failed or
// interrupted pack never leaves a truncated tarball under the requested name.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "supervisor/environments/env_error.hpp"

namespace ringserve::supervisor::environments {

enum class TarFormat { gzip, zstd, xz, none };

// "tar.gz" / "tgz" / "gz" -> gzip, "tar.zst" / "zst", "tar.xz" / "xz", "tar". nullopt otherwise.
std::optional<TarFormat> parseTarFormat(std::string_view text);
// The format an output name implies (".tar.zst" -> zstd, ...); gzip when the name says nothing.
TarFormat tarFormatForName(const std::filesystem::path& output);

class TarWriter {
 public:
  // Bytes of file content written so far (for progress).
  using ProgressFn = std::function<void(std::uint64_t written)>;

  static EnvResult<TarWriter> create(const std::filesystem::path& output, TarFormat format, ProgressFn progress = {});
  ~TarWriter();  // removes the partial file unless finish() succeeded
  TarWriter(TarWriter&&) noexcept;
  TarWriter& operator=(TarWriter&&) = delete;
  TarWriter(const TarWriter&) = delete;
  TarWriter& operator=(const TarWriter&) = delete;

  // Copies `source` (symlinks followed) to `pathInArchive` with `mode` (nullopt: the source's).
  std::optional<EnvError> addFile(const std::filesystem::path& source, const std::string& pathInArchive,
                                  std::optional<unsigned> mode = std::nullopt);
  std::optional<EnvError> addBytes(std::string_view content, const std::string& pathInArchive, unsigned mode = 0644);
  std::optional<EnvError> addDirectory(const std::string& pathInArchive);
  // A symbolic link; the extractor only accepts relative targets that stay inside the environment.
  std::optional<EnvError> addSymlink(const std::string& target, const std::string& pathInArchive);
  // Closes the archive and renames it into place.
  std::optional<EnvError> finish();

 private:
  struct State;
  explicit TarWriter(std::unique_ptr<State> s);
  std::unique_ptr<State> s_;
};

}  // namespace ringserve::supervisor::environments
