// Extraction of environment tarballs: formats, and every kind of unsafe or malformed input.
#include "supervisor/environments/safe_extract.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <random>

#include "tests/supervisor/environments/tar_builder.hpp"
#include "tests/supervisor/environments/temp_dir.hpp"

namespace ringserve::supervisor::environments {
namespace {
using envtest::readText;
using envtest::TarBuilder;
using envtest::TempDir;
using envtest::writeText;
namespace fs = std::filesystem;
using ::testing::HasSubstr;

class EnvExtract : public ::testing::Test {
 protected:
  fs::path dest() {
    fs::create_directories(tmp_ / "out");
    return tmp_ / "out";
  }
  EnvResult<ExtractStats> extract(const TarBuilder& b, Limits limits = {}) {
    b.write(tmp_ / "t.tar.gz");
    return extractArchive(tmp_ / "t.tar.gz", dest(), limits, {});
  }
  // The archive holding `b` must be refused with 400 naming `entry` and saying `why`.
  void expectRefused(const TarBuilder& b, const std::string& entry, const std::string& why) {
    auto r = extract(b);
    ASSERT_FALSE(r.ok()) << "entry " << entry << " was accepted";
    EXPECT_THAT(r.error().message, HasSubstr("entry '" + entry + "' refused"));
    EXPECT_THAT(r.error().message, HasSubstr(why));
  }
  TempDir tmp_;
};

TEST(EnvNormalizeEntryPath, StripsDotsAndSlashes) {
  EXPECT_EQ(normalizeEntryPath("./a/./b/").value(), "a/b");
  EXPECT_EQ(normalizeEntryPath("a//b").value(), "a/b");
  EXPECT_EQ(normalizeEntryPath("./").value(), "");
  EXPECT_FALSE(normalizeEntryPath("/etc/passwd").ok());
  EXPECT_FALSE(normalizeEntryPath("a/../../b").ok());
  EXPECT_FALSE(normalizeEntryPath("..").ok());
  EXPECT_TRUE(normalizeEntryPath("a..b/..c").ok());
}

TEST_F(EnvExtract, EveryCompressionRoundTrips) {
  for (auto c : {TarBuilder::Compression::none, TarBuilder::Compression::gzip, TarBuilder::Compression::zstd,
                 TarBuilder::Compression::xz}) {
    TempDir out;
    TarBuilder()
        .dir("./lib")
        .file("./lib/libx.so.1", "ELF-ish bytes")
        .symlink("lib/libx.so", "libx.so.1")
        .file("bin/ringserve-worker", "#!/bin/sh\nexit 0\n", 0755)
        .hardlink("lib/copy", "lib/libx.so.1")
        .write(tmp_ / "t.tar", c);
    auto r = extractArchive(tmp_ / "t.tar", out.path(), {}, {});
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(readText(out / "lib/libx.so"), "ELF-ish bytes");
    EXPECT_EQ(readText(out / "lib/copy"), "ELF-ish bytes");
    EXPECT_TRUE(fs::is_symlink(out / "lib/libx.so"));
    struct stat st {};
    ASSERT_EQ(::stat((out / "bin/ringserve-worker").c_str(), &st), 0);
    EXPECT_TRUE(st.st_mode & S_IXUSR) << "the exec bit survives";
    EXPECT_EQ(r->entries, 5u);
    EXPECT_EQ(r->bytes, 13u + 17u);
    EXPECT_EQ(r->sha256.size(), 64u);
  }
}

TEST_F(EnvExtract, ProgressReachesTheArchiveSize) {
  std::string big(3 << 20, '\0');
  std::mt19937 rng(7);
  for (auto& ch : big) ch = static_cast<char>(rng());
  TarBuilder().file("blob", big).write(tmp_ / "t.tar", TarBuilder::Compression::none);
  std::uint64_t last = 0, total = 0;
  int calls = 0;
  auto r = extractArchive(tmp_ / "t.tar", dest(), {}, [&](std::uint64_t d, std::uint64_t t) {
    EXPECT_GE(d, last);
    last = d;
    total = t;
    ++calls;
  });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_GT(calls, 1);
  EXPECT_EQ(last, fs::file_size(tmp_ / "t.tar"));
  EXPECT_EQ(total, last);
}

TEST_F(EnvExtract, MissingArchiveIs404) {
  auto r = extractArchive(tmp_ / "nope.tar.gz", dest(), {}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("nope.tar.gz does not exist"));
}

TEST_F(EnvExtract, NotAnArchive) {
  writeText(tmp_ / "t.tar.gz", "this is a text file, not a tarball\n");
  auto r = extractArchive(tmp_ / "t.tar.gz", dest(), {}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("is not a tar archive"));
}

TEST_F(EnvExtract, EmptyFileIsRefused) {
  writeText(tmp_ / "t.tar", "");
  auto r = extractArchive(tmp_ / "t.tar", dest(), {}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("t.tar is not a tar archive"));
}

TEST_F(EnvExtract, TruncatedArchive) {
  std::string big(1 << 20, 'x');
  std::mt19937 rng(1);
  for (auto& ch : big) ch = static_cast<char>(rng());
  TarBuilder().file("a", big).file("b", big).write(tmp_ / "t.tar.gz");
  auto bytes = readText(tmp_ / "t.tar.gz");
  writeText(tmp_ / "cut.tar.gz", bytes.substr(0, bytes.size() / 2));
  auto r = extractArchive(tmp_ / "cut.tar.gz", dest(), {}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("corrupt or truncated"));
}

TEST_F(EnvExtract, CorruptCompressedData) {
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "line " + std::to_string(i) + "\n";
  TarBuilder().file("a", text).write(tmp_ / "t.tar.gz");
  auto bytes = readText(tmp_ / "t.tar.gz");
  for (std::size_t i = bytes.size() / 3; i < bytes.size() / 3 + 64; ++i) bytes[i] = static_cast<char>(~bytes[i]);
  writeText(tmp_ / "bad.tar.gz", bytes);
  auto r = extractArchive(tmp_ / "bad.tar.gz", dest(), {}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("bad.tar.gz is corrupt or truncated"));
}

TEST_F(EnvExtract, AbsolutePath) { expectRefused(TarBuilder().file("/tmp/evil", "x"), "/tmp/evil", "absolute path"); }

TEST_F(EnvExtract, DotDot) { expectRefused(TarBuilder().file("lib/../../evil", "x"), "lib/../../evil", "'..'"); }

TEST_F(EnvExtract, SymlinkAbsoluteTarget) {
  expectRefused(TarBuilder().symlink("lib/passwd", "/etc/passwd"), "lib/passwd", "points outside");
}

TEST_F(EnvExtract, SymlinkRelativeOutside) {
  expectRefused(TarBuilder().dir("lib").symlink("lib/up", "../../x"), "lib/up", "points outside");
}

TEST_F(EnvExtract, SymlinkComposedThroughAnotherSymlink) {
  // Each link looks inside on its own; together m resolves to the parent of the environment.
  expectRefused(TarBuilder().dir("a").symlink("a/l", "..").symlink("m", "a/l/.."), "m", "resolves outside");
}

TEST_F(EnvExtract, HardlinkOutside) {
  expectRefused(TarBuilder().hardlink("lib/h", "../../etc/passwd"), "lib/h", "hard link");
  expectRefused(TarBuilder().hardlink("lib/h", "/etc/passwd"), "lib/h", "hard link");
}

TEST_F(EnvExtract, HardlinkThroughSymlink) {
  expectRefused(TarBuilder().dir("a").symlink("a/l", "..").hardlink("h", "a/l/x"), "h", "through a symbolic link");
}

TEST_F(EnvExtract, WritingThroughSymlinkIsRefused) {
  auto r = extract(TarBuilder().dir("d").symlink("s", "d").file("s/f", "x"));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("'s/f'"));
}

TEST_F(EnvExtract, DeviceNodesFifosAndSockets) {
  expectRefused(TarBuilder().special("dev/null", AE_IFCHR), "dev/null", "character device");
  expectRefused(TarBuilder().special("dev/sda", AE_IFBLK), "dev/sda", "block device");
  expectRefused(TarBuilder().special("pipe", AE_IFIFO), "pipe", "FIFO");
}

TEST_F(EnvExtract, SetuidAndSetgid) {
  expectRefused(TarBuilder().file("bin/su", "x", 04755), "bin/su", "set-uid");
  expectRefused(TarBuilder().file("bin/sg", "x", 02755), "bin/sg", "set-gid");
}

TEST_F(EnvExtract, TooManyEntries) {
  TarBuilder b;
  for (int i = 0; i < 11; ++i) b.file("f" + std::to_string(i), "x");
  Limits limits;
  limits.maxEntries = 10;
  auto r = extract(b, limits);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("entry 'f10' refused"));
  EXPECT_THAT(r.error().message, HasSubstr("more than 10 entries"));
}

TEST_F(EnvExtract, ExpandsPastTheByteLimit) {
  // 8 MiB of zeros compress to a few KiB: the limit is on what lands on disk.
  Limits limits;
  limits.maxBytes = 1 << 20;
  auto r = extract(TarBuilder().file("small", "ok").file("bomb", std::string(8 << 20, '\0')), limits);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("entry 'bomb' refused"));
  EXPECT_THAT(r.error().message, HasSubstr("expands past the limit of 1048576 bytes"));
}

TEST_F(EnvExtract, InjectedWriteFailureIs500) {
  Limits limits;
  limits.writeHook = [](std::uint64_t written) { return written < 4096; };
  auto r = extract(TarBuilder().file("a", std::string(1 << 20, 'a')), limits);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("No space left on device"));
}

}  // namespace
}  // namespace ringserve::supervisor::environments
