// Bit flips over valid frames, descriptors, ring indices and segment headers, fed through the
// checks the worker and supervisor use (requestFrame/responseFrame, root<>, readGuarded over every
// field, peerView for every tensor offset, Segment::open). Nothing may crash, and under ASan
// nothing may be read outside the frame: frames sit against PROT_NONE guard pages, so an overread
// is a SIGSEGV in any build.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <capnp/message.h>
#include <cstring>
#include <random>

#include "test_support.hpp"
#include "transport/endpoint.hpp"
#include "transport/wake.hpp"
#include "worker.capnp.h"

using namespace ringserve::transport;
using namespace ringserve::transport::testing;
namespace schema = ringserve::schema;

namespace {

// `size` bytes (a multiple of 8) whose last byte is followed by an inaccessible page, with another
// inaccessible page before the first.
class GuardedBytes {
 public:
  explicit GuardedBytes(std::size_t size) : size_(size) {
    const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    const std::size_t body = (size + page - 1) / page * page;
    total_ = body + 2 * page;
    map_ = static_cast<std::byte*>(::mmap(nullptr, total_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    EXPECT_NE(map_, MAP_FAILED);
    ::mprotect(map_, page, PROT_NONE);
    ::mprotect(map_ + page + body, page, PROT_NONE);
    data_ = map_ + page + body - size;
  }
  ~GuardedBytes() { ::munmap(map_, total_); }
  GuardedBytes(const GuardedBytes&) = delete;
  GuardedBytes& operator=(const GuardedBytes&) = delete;
  std::span<std::byte> bytes() { return {data_, size_}; }

 private:
  std::size_t size_, total_;
  std::byte* map_;
  std::byte* data_;
};

// The fixture: one lane, a worker endpoint, tensors in the lane's arena, and a valid request and
// response frame that name them.
class BitFlip : public ::testing::Test {
 protected:
  void SetUp() override {
    seg_ = makeSegment(2, 8, 1 << 16);
    efd_ = makeEventFd();
    lane_ = std::make_unique<SupervisorLane>(seg_, 0, efd_);
    worker_ = std::make_unique<WorkerEndpoint>(seg_, std::vector<int>{efd_, efd_});
    for (int i = 0; i < 3; ++i) tensors_.push_back(lane_->allocate(256).value());
    request_ = encode([&](capnp::MallocMessageBuilder& m) {
      auto req = m.initRoot<schema::InferRequest>();
      req.setModelHandle(3);
      req.setId("request-1");
      req.setParametersJson(R"({"headers":{"content-type":"application/json"}})");
      auto inputs = req.initInputs(3);
      for (unsigned i = 0; i < 3; ++i) {
        inputs[i].setName("input" + std::to_string(i));
        inputs[i].setDatatype(schema::DataType::FP32);
        auto shape = inputs[i].initShape(2);
        shape.set(0, 8);
        shape.set(1, 8);
        inputs[i].setOffset(tensors_[i]);
        inputs[i].setSize(256);
        inputs[i].setParametersJson(R"({"content_type":"np"})");
      }
      auto outs = req.initOutputs(2);
      outs[0].setName("a");
      outs[1].setName("b");
      outs[1].setParametersJson(R"({"binary_data":true})");
    });
    const auto out = worker_->arena().allocate(256).value();
    response_ = encode([&](capnp::MallocMessageBuilder& m) {
      auto res = m.initRoot<schema::InferResponse>().initOk();
      res.setModelName("m");
      res.setModelVersion("1");
      res.setId("request-1");
      res.setParametersJson(R"({"headers":{"x":"y"}})");
      auto o = res.initOutputs(1)[0];
      o.setName("out");
      o.setDatatype(schema::DataType::BYTES);
      o.initShape(1).set(0, 4);
      o.setOffset(out);
      o.setSize(256);
    });
  }
  void TearDown() override { ::close(efd_); }

  template <class F>
  static std::vector<std::byte> encode(F build) {
    capnp::MallocMessageBuilder m;
    build(m);
    std::vector<std::byte> bytes(frameSize(m));
    std::vector<capnp::word> aligned(bytes.size() / 8);
    writeFrame(m, {reinterpret_cast<std::byte*>(aligned.data()), bytes.size()});
    std::memcpy(bytes.data(), aligned.data(), bytes.size());
    return bytes;
  }

  // Every field the worker reads from a request, every tensor checked against the lane's arena
  // and touched at both ends. An error value is fine; a crash or a wild read is not.
  Status readRequest(FrameReader& frame) {
    auto root = frame.root<schema::InferRequest>();
    if (!root) return root.error();
    auto r = readGuarded([&] {
      std::uint64_t sink = root->getModelHandle() + root->getId().size() + root->getParametersJson().size();
      for (auto t : root->getInputs()) {
        sink += t.getName().size() + static_cast<std::uint64_t>(t.getDatatype()) + t.getParametersJson().size();
        for (auto dim : t.getShape()) sink += static_cast<std::uint64_t>(dim);
        auto v = worker_->peerView(0, t.getOffset(), t.getSize());
        if (v && !v->empty()) sink += std::to_integer<std::uint64_t>(v->front()) + std::to_integer<std::uint64_t>(v->back());
      }
      for (auto o : root->getOutputs()) sink += o.getName().size() + o.getParametersJson().size();
      return sink;
    });
    if (!r) return r.error();
    return Ok{};
  }

  Status readResponse(FrameReader& frame) {
    auto root = frame.root<schema::InferResponse>();
    if (!root) return root.error();
    auto r = readGuarded([&] {
      std::uint64_t sink = 0;
      if (root->isError()) return sink + root->getError().getMessage().size();
      auto res = root->getOk();
      sink += res.getModelName().size() + res.getModelVersion().size() + res.getId().size() +
              res.getParametersJson().size();
      for (auto t : res.getOutputs()) {
        sink += t.getName().size();
        for (auto dim : t.getShape()) sink += static_cast<std::uint64_t>(dim);
        auto v = lane_->peerView(t.getOffset(), t.getSize());
        if (v && !v->empty()) sink += std::to_integer<std::uint64_t>(v->front()) + std::to_integer<std::uint64_t>(v->back());
      }
      return sink;
    });
    if (!r) return r.error();
    return Ok{};
  }

  // Opens `bytes` from guarded memory and reads it all; true when it was accepted.
  template <class Read>
  bool readGuardedCopy(const std::vector<std::byte>& bytes, Read read) {
    GuardedBytes g(bytes.size());
    std::memcpy(g.bytes().data(), bytes.data(), bytes.size());
    auto frame = FrameReader::open(g.bytes());
    if (!frame) return false;
    return static_cast<bool>(read(frame.value()));
  }

  static void flip(std::vector<std::byte>& b, std::size_t bit) { b[bit / 8] ^= static_cast<std::byte>(1u << (bit % 8)); }

  Segment seg_;
  int efd_ = -1;
  std::unique_ptr<SupervisorLane> lane_;
  std::unique_ptr<WorkerEndpoint> worker_;
  std::vector<std::uint64_t> tensors_;
  std::vector<std::byte> request_, response_;
};

}  // namespace

TEST_F(BitFlip, TheUnflippedFramesAreAccepted) {
  EXPECT_TRUE(readGuardedCopy(request_, [&](FrameReader& f) { return readRequest(f); }));
  EXPECT_TRUE(readGuardedCopy(response_, [&](FrameReader& f) { return readResponse(f); }));
}

TEST_F(BitFlip, EverySingleBitOfARequestFrame) {
  std::size_t refused = 0;
  for (std::size_t bit = 0; bit < request_.size() * 8; ++bit) {
    auto bytes = request_;
    flip(bytes, bit);
    if (!readGuardedCopy(bytes, [&](FrameReader& f) { return readRequest(f); })) ++refused;
  }
  // Flips in text bytes and scalar values are legal frames; flips in pointers mostly are not.
  EXPECT_GT(refused, 0u);
  EXPECT_LT(refused, request_.size() * 8);
}

TEST_F(BitFlip, EverySingleBitOfAResponseFrame) {
  std::size_t refused = 0;
  for (std::size_t bit = 0; bit < response_.size() * 8; ++bit) {
    auto bytes = response_;
    flip(bytes, bit);
    if (!readGuardedCopy(bytes, [&](FrameReader& f) { return readResponse(f); })) ++refused;
  }
  EXPECT_GT(refused, 0u);
}

TEST_F(BitFlip, RandomBurstsOfFlipsInBothFrames) {
  std::mt19937_64 rng(7);
  for (std::uint64_t i = 0; i < scaled(20'000); ++i) {
    for (auto* original : {&request_, &response_}) {
      auto bytes = *original;
      const int n = 1 + static_cast<int>(rng() % 16);
      for (int k = 0; k < n; ++k) flip(bytes, rng() % (bytes.size() * 8));
      if (original == &request_)
        readGuardedCopy(bytes, [&](FrameReader& f) { return readRequest(f); });
      else
        readGuardedCopy(bytes, [&](FrameReader& f) { return readResponse(f); });
    }
  }
  SUCCEED() << "no crash, no read outside the guarded frame";
}

TEST_F(BitFlip, TruncatedFramesAreRefusedOrReadSafely) {
  for (std::size_t len = 8; len < request_.size(); len += 8) {
    std::vector<std::byte> cut(request_.begin(), request_.begin() + static_cast<long>(len));
    readGuardedCopy(cut, [&](FrameReader& f) { return readRequest(f); });
  }
  SUCCEED();
}

// A descriptor naming the request frame, every bit flipped in turn, sent through the real ring
// and handled as the worker does: by kind, then requestFrame (bounds) and a full read.
TEST_F(BitFlip, EverySingleBitOfADescriptorThroughTheRing) {
  const auto frameOff = lane_->allocate(request_.size()).value();
  std::memcpy(lane_->at(frameOff), request_.data(), request_.size());
  Descriptor valid{};
  valid.kind = static_cast<std::uint32_t>(DescriptorKind::infer);
  valid.tag = 77;
  valid.frame_offset = frameOff;
  valid.frame_size = request_.size();
  std::size_t accepted = 0, refused = 0;
  for (std::size_t bit = 0; bit < sizeof(Descriptor) * 8; ++bit) {
    Descriptor d = valid;
    auto* raw = reinterpret_cast<std::byte*>(&d);
    raw[bit / 8] ^= static_cast<std::byte>(1u << (bit % 8));
    ASSERT_TRUE(lane_->post(d));
    Descriptor got{};
    std::uint32_t k = 9;
    auto r = worker_->next(got, k);
    ASSERT_TRUE(r && r.value());
    ASSERT_EQ(k, 0u);
    if (got.kind == static_cast<std::uint32_t>(DescriptorKind::release)) continue;
    auto frame = worker_->requestFrame(k, got);
    if (frame && readRequest(frame.value()))
      ++accepted;
    else
      ++refused;
  }
  EXPECT_GT(refused, 0u) << "flips of kind, offset and size must be refused";
  EXPECT_GT(accepted, 0u) << "flips of the tag, timestamps and reserved words are harmless";
}

TEST_F(BitFlip, EveryBitOfARingHeadIsRefusedOrYieldsSlotsInsideTheRing) {
  for (int bit = 0; bit < 64; ++bit) {
    auto seg = makeSegment(1, 8, 1 << 12);
    WorkerEndpoint worker(seg, {efd_});
    std::atomic_ref(seg.lane(0).request.head).store(std::uint64_t{1} << bit);
    Descriptor d{};
    std::uint32_t k = 0;
    int taken = 0;
    for (int i = 0; i < 20; ++i) {
      auto r = worker.next(d, k);
      if (!r || !r.value()) break;
      ++taken;
    }
    EXPECT_LE(taken, 8) << "bit " << bit;
    if (bit >= 4) {
      EXPECT_EQ(taken, 0) << "a head more than 8 slots ahead is refused, bit " << bit;
    }
  }
}

// Every bit of the part of the header that is fixed at creation: Segment::open either refuses it
// or accepts a geometry identical to the original's (only pid, uid and the quoted shm_size are
// free to differ).
TEST_F(BitFlip, EveryBitOfTheSegmentHeader) {
  auto seg = makeSegment(1, 4, 1 << 12);
  const SegmentHeader original = seg.geometry();
  std::size_t accepted = 0;
  for (std::size_t bit = 0; bit < offsetof(SegmentHeader, worker_sleeping) * 8; ++bit) {
    std::vector<std::byte> bytes(seg.base(), seg.base() + seg.size());
    bytes[bit / 8] ^= static_cast<std::byte>(1u << (bit % 8));
    const int fd = ::memfd_create("flipped", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::fchmod(fd, 0600), 0);
    ASSERT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    ASSERT_EQ(::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
    auto opened = Segment::open(fd);
    if (!opened) continue;
    ++accepted;
    const SegmentHeader& g = opened->geometry();
    EXPECT_EQ(g.lane_count, original.lane_count) << "bit " << bit;
    EXPECT_EQ(g.ring_slots, original.ring_slots) << "bit " << bit;
    EXPECT_EQ(g.rings_offset, original.rings_offset) << "bit " << bit;
    EXPECT_EQ(g.request_arena_offset, original.request_arena_offset) << "bit " << bit;
    EXPECT_EQ(g.request_arena_size, original.request_arena_size) << "bit " << bit;
    EXPECT_EQ(g.response_arena_offset, original.response_arena_offset) << "bit " << bit;
    EXPECT_EQ(g.response_arena_size, original.response_arena_size) << "bit " << bit;
  }
  // creator_pid, creator_uid and shm_size_setting: 128 bits that nothing depends on, plus padding.
  EXPECT_GE(accepted, 128u);
}
