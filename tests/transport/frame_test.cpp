// Frames: arena frames read in place (FrameReader), length-prefixed stream frames (decoder and the
// blocking helpers), with every malformed length and partial feed.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <capnp/message.h>
#include <cstring>

#include "transport/frame.hpp"
#include "worker.capnp.h"

using namespace ringserve::transport;
namespace schema = ringserve::schema;

namespace {

void buildHello(capnp::MallocMessageBuilder& msg, std::uint32_t pid) {
  auto hello = msg.initRoot<schema::FromWorker>().initHello();
  hello.setProtocolMajor(1);
  hello.setPid(pid);
  hello.setWorkerVersion("test");
}

std::vector<std::byte> frameBytes(std::uint32_t pid) {
  capnp::MallocMessageBuilder msg;
  buildHello(msg, pid);
  return encodeStreamFrame(msg);
}

std::vector<std::byte> lengthOnly(std::uint32_t len) {
  std::vector<std::byte> b(4);
  for (int i = 0; i < 4; ++i) b[i] = static_cast<std::byte>((len >> (8 * i)) & 0xff);
  return b;
}

std::uint32_t pidOf(std::vector<capnp::word> words) {
  auto f = OwnedFrame::parse(std::move(words));
  EXPECT_TRUE(f);
  auto root = f->root<schema::FromWorker>();
  EXPECT_TRUE(root);
  return root->getHello().getPid();
}

struct SocketPair {
  int fd[2] = {-1, -1};
  SocketPair() { EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fd), 0); }
  ~SocketPair() {
    for (int f : fd)
      if (f >= 0) ::close(f);
  }
};

}  // namespace

TEST(StreamFrameDecoder, YieldsFramesFedWholeOrByteByByte) {
  std::vector<std::byte> stream;
  for (std::uint32_t pid = 1; pid <= 3; ++pid) {
    auto f = frameBytes(pid);
    stream.insert(stream.end(), f.begin(), f.end());
  }
  StreamFrameDecoder whole(kMaxControlFrame);
  whole.feed(stream);
  for (std::uint32_t pid = 1; pid <= 3; ++pid) {
    auto r = whole.next();
    ASSERT_TRUE(r && r.value());
    EXPECT_EQ(pidOf(std::move(*r.value())), pid);
  }
  auto none = whole.next();
  ASSERT_TRUE(none);
  EXPECT_FALSE(none.value());
  EXPECT_EQ(whole.buffered(), 0u);

  StreamFrameDecoder bytewise(kMaxControlFrame);
  std::uint32_t want = 1;
  for (std::byte b : stream) {
    bytewise.feed({&b, 1});
    auto r = bytewise.next();
    ASSERT_TRUE(r);
    if (r.value()) {
      EXPECT_EQ(pidOf(std::move(*r.value())), want++);
    }
  }
  EXPECT_EQ(want, 4u);
}

TEST(StreamFrameDecoder, OversizeLengthIsRefusedBeforeBuffering) {
  StreamFrameDecoder d(1024);
  d.feed(lengthOnly(1032));
  auto r = d.next();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::tooLarge);
  EXPECT_NE(r.error().message.find("1032 bytes exceeds the limit of 1024"), std::string::npos) << r.error().message;
}

TEST(StreamFrameDecoder, ZeroAndMisalignedLengthsAreCorrupt) {
  for (std::uint32_t len : {0u, 1u, 7u, 12u, 1023u}) {
    StreamFrameDecoder d(1 << 20);
    d.feed(lengthOnly(len));
    auto r = d.next();
    ASSERT_FALSE(r) << len;
    EXPECT_EQ(r.error().code, ErrorCode::corrupt);
    EXPECT_NE(r.error().message.find("positive multiple of 8"), std::string::npos);
  }
}

TEST(StreamFrameDecoder, PartialHeaderAndBodyWait) {
  auto f = frameBytes(9);
  StreamFrameDecoder d(kMaxControlFrame);
  d.feed({f.data(), 3});
  auto r = d.next();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r.value());
  d.feed({f.data() + 3, f.size() - 4});
  r = d.next();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r.value());
  EXPECT_EQ(d.buffered(), f.size() - 1);
  d.feed({f.data() + f.size() - 1, 1});
  r = d.next();
  ASSERT_TRUE(r && r.value());
  EXPECT_EQ(pidOf(std::move(*r.value())), 9u);
}

TEST(StreamFrameDecoder, GarbageThatPassesTheLengthCheckFailsToParse) {
  StreamFrameDecoder d(kMaxControlFrame);
  auto len = lengthOnly(16);
  d.feed(len);
  std::vector<std::byte> junk(16, std::byte{0xff});
  d.feed(junk);
  auto r = d.next();
  ASSERT_TRUE(r && r.value());
  auto f = OwnedFrame::parse(std::move(*r.value()));
  if (f) {
    EXPECT_FALSE(f->root<schema::FromWorker>());
  }
}

TEST(StreamFrames, BlockingHelpersRoundTripOverASocket) {
  SocketPair sp;
  for (std::uint32_t pid = 10; pid < 13; ++pid) {
    capnp::MallocMessageBuilder msg;
    buildHello(msg, pid);
    ASSERT_TRUE(writeStreamFrame(sp.fd[0], msg));
  }
  for (std::uint32_t pid = 10; pid < 13; ++pid) {
    auto r = readStreamFrame(sp.fd[1], kMaxControlFrame);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(pidOf(std::move(r.value())), pid);
  }
}

TEST(StreamFrames, CleanEofIsClosedAndEofMidFrameIsCorrupt) {
  {
    SocketPair sp;
    ::close(sp.fd[0]);
    sp.fd[0] = -1;
    auto r = readStreamFrame(sp.fd[1], kMaxControlFrame);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::closed);
  }
  {
    SocketPair sp;
    auto f = frameBytes(1);
    ASSERT_EQ(::write(sp.fd[0], f.data(), f.size() - 8), static_cast<ssize_t>(f.size() - 8));
    ::close(sp.fd[0]);
    sp.fd[0] = -1;
    auto r = readStreamFrame(sp.fd[1], kMaxControlFrame);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::corrupt);
  }
  {
    SocketPair sp;
    ASSERT_EQ(::write(sp.fd[0], "\x01\x00", 2), 2);
    ::close(sp.fd[0]);
    sp.fd[0] = -1;
    auto r = readStreamFrame(sp.fd[1], kMaxControlFrame);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::corrupt);
  }
}

TEST(StreamFrames, ReadRefusesAnOversizeLength) {
  SocketPair sp;
  auto len = lengthOnly(kMaxControlFrame + 8);
  ASSERT_EQ(::write(sp.fd[0], len.data(), 4), 4);
  auto r = readStreamFrame(sp.fd[1], kMaxControlFrame);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::tooLarge);
}

TEST(StreamFrames, WritingToAClosedPeerIsClosed) {
  SocketPair sp;
  ::close(sp.fd[1]);
  sp.fd[1] = -1;
  capnp::MallocMessageBuilder msg;
  buildHello(msg, 1);
  auto s = writeStreamFrame(sp.fd[0], msg);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::closed);
}

TEST(FrameReader, ReadsAFrameWrittenInPlace) {
  capnp::MallocMessageBuilder msg;
  auto req = msg.initRoot<schema::InferRequest>();
  req.setModelHandle(7);
  req.setId("abc");
  auto t = req.initInputs(1)[0];
  t.setName("x");
  t.setOffset(4096);
  t.setSize(16);
  std::vector<capnp::word> buf(frameSize(msg) / 8);
  writeFrame(msg, {reinterpret_cast<std::byte*>(buf.data()), buf.size() * 8});
  auto r = FrameReader::open({reinterpret_cast<const std::byte*>(buf.data()), buf.size() * 8});
  ASSERT_TRUE(r) << r.error().message;
  auto root = r->root<schema::InferRequest>();
  ASSERT_TRUE(root);
  EXPECT_EQ(root->getModelHandle(), 7u);
  EXPECT_STREQ(root->getId().cStr(), "abc");
  EXPECT_EQ(root->getInputs()[0].getOffset(), 4096u);
}

TEST(FrameReader, RefusesEmptyOddSizedAndMisalignedFrames) {
  alignas(8) std::byte buf[64] = {};
  EXPECT_FALSE(FrameReader::open({buf, 0}));
  EXPECT_FALSE(FrameReader::open({buf, 12}));
  auto r = FrameReader::open({buf + 4, 16});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::corrupt);
  EXPECT_NE(r.error().message.find("not word-aligned"), std::string::npos);
}

TEST(FrameReader, ASegmentTableClaimingMoreThanTheFrameIsCorrupt) {
  alignas(8) std::byte buf[16] = {};
  const std::uint32_t table[2] = {0, 1000};  // one segment of 1000 words in a 16-byte frame
  std::memcpy(buf, table, sizeof table);
  auto r = FrameReader::open({buf, 16});
  if (r) {
    EXPECT_FALSE(r->root<schema::InferRequest>());
  } else {
    EXPECT_EQ(r.error().code, ErrorCode::corrupt);
  }
}

TEST(FrameReader, ReadGuardedTurnsKjExceptionsIntoErrors) {
  auto r = readGuarded([]() -> int { KJ_FAIL_REQUIRE("pointer out of bounds"); });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::corrupt);
  EXPECT_NE(r.error().message.find("pointer out of bounds"), std::string::npos);
  auto ok = readGuarded([] { return 5; });
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok.value(), 5);
}
