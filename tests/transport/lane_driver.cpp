#include "lane_driver.hpp"

#include <poll.h>

#include <capnp/message.h>
#include <cstdio>
#include <deque>
#include <random>
#include <unordered_map>
#include <vector>

#include "echo_protocol.hpp"
#include "transport/wake.hpp"
#include "worker.capnp.h"

namespace ringserve::transport::testing {

namespace {

struct Block {
  std::uint64_t offset;
  std::uint64_t size;
};

struct InFlight {
  echo::Mode mode;
  std::vector<Block> payloads;  // request tensors, in input order
  std::uint64_t frame = ~0ULL;  // request frame block (capnp mode)
};

std::string hex(std::uint64_t v) {
  char b[17];
  std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(v));
  return b;
}

bool isComplement(std::span<const std::byte> out, std::span<const std::byte> in) {
  if (out.size() != in.size()) return false;
  std::size_t i = 0;
  for (; i + 8 <= in.size(); i += 8) {
    std::uint64_t a, b;
    std::memcpy(&a, out.data() + i, 8);
    std::memcpy(&b, in.data() + i, 8);
    if (a != ~b) return false;
  }
  for (; i < in.size(); ++i)
    if (out[i] != ~in[i]) return false;
  return true;
}

class Driver {
 public:
  Driver(SupervisorLane& lane, int pidfd, const DriveOptions& o) : lane_(lane), pidfd_(pidfd), o_(o), rng_(o.seed) {}

  DriveResult run() {
    while (result_.verified < o_.messages && result_.error.empty()) {
      postReleases();
      while (inflight_.size() < o_.window && sent_ < o_.messages && releases_.empty() && result_.error.empty())
        if (!sendOne()) break;
      lane_.flush();
      if (!drainResponses()) sleep();
    }
    postReleases();
    lane_.flush();
    return result_;
  }

 private:
  std::uint64_t payloadSize() {
    // Mostly small, some medium, a few large: exercises ring batching and arena fragmentation.
    const auto r = rng_() % 64;
    if (r < 44) return rng_() % 257;
    if (r < 63) return rng_() % 2049;
    return rng_() % (o_.maxPayload + 1);
  }

  std::optional<Block> writePayload(std::uint64_t size) {
    auto off = lane_.allocate(size);
    if (!off) {
      result_.error = off.error().message;
      return std::nullopt;
    }
    std::byte* p = lane_.at(off.value());
    std::uint64_t x = rng_();
    for (std::uint64_t i = 0; i < size; i += 8) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      std::memcpy(p + i, &x, std::min<std::uint64_t>(8, size - i));
    }
    return Block{off.value(), size};
  }

  bool sendOne() {
    Descriptor d{};
    d.kind = static_cast<std::uint32_t>(DescriptorKind::infer);
    d.tag = ++tag_;
    d.sent_ns = monotonicNs();
    InFlight f{};
    if (o_.capnpEvery != 0 && d.tag % o_.capnpEvery == 0) {
      f.mode = echo::Mode::capnp;
      capnp::MallocMessageBuilder msg;
      auto req = msg.initRoot<schema::InferRequest>();
      const unsigned n = 1 + static_cast<unsigned>(rng_() % 3);
      auto inputs = req.initInputs(n);
      std::uint64_t sum = 0;
      for (unsigned i = 0; i < n; ++i) {
        auto b = writePayload(payloadSize());
        if (!b) return false;
        f.payloads.push_back(*b);
        sum = echo::combine(sum, echo::checksum({lane_.at(b->offset), b->size}));
        auto t = inputs[i];
        t.setName("in" + std::to_string(i));
        t.setDatatype(schema::DataType::UINT8);
        t.initShape(1).set(0, static_cast<std::int64_t>(b->size));
        t.setOffset(b->offset);
        t.setSize(b->size);
      }
      req.setId(hex(sum));
      req.setParametersJson(R"({"headers":{"x-test":"1"}})");
      const std::uint64_t size = frameSize(msg);
      auto off = lane_.allocate(size);
      if (!off) {
        result_.error = off.error().message;
        return false;
      }
      writeFrame(msg, {lane_.at(off.value()), size});
      f.frame = off.value();
      d.frame_offset = off.value();
      d.frame_size = size;
    } else {
      f.mode = echo::Mode::raw;
      auto b = writePayload(payloadSize());
      if (!b) return false;
      f.payloads.push_back(*b);
      d.frame_offset = b->offset;
      d.frame_size = (b->size + 7) / 8 * 8;
      d.reserved[1] = b->size;
      d.reserved[2] = echo::checksum({lane_.at(b->offset), b->size});
    }
    d.reserved[0] = static_cast<std::uint64_t>(f.mode);
    if (!lane_.post(d)) {
      result_.error = "request ring full with " + std::to_string(inflight_.size()) + " in flight";
      return false;
    }
    inflight_.emplace(d.tag, std::move(f));
    ++sent_;
    return true;
  }

  // Ok when the answer matches the request; frees the request blocks either way.
  std::string verify(const Descriptor& d, const InFlight& f) {
    if (d.error_code != 0) return "response carries error " + std::to_string(d.error_code);
    if (f.mode == echo::Mode::raw) {
      auto out = lane_.peerView(d.frame_offset, d.reserved[1]);
      if (!out) return out.error().message;
      const Block& in = f.payloads[0];
      if (echo::checksum(out.value()) != d.reserved[2]) return "response checksum mismatch";
      if (!isComplement(out.value(), {lane_.at(in.offset), in.size})) return "response bytes are not the transform";
      return "";
    }
    auto fr = lane_.responseFrame(d);
    if (!fr) return fr.error().message;
    auto root = fr->root<schema::InferResponse>();
    if (!root) return root.error().message;
    auto checked = readGuarded([&]() -> std::string {
      if (!root->isOk()) return "response is an error";
      auto res = root->getOk();
      auto outs = res.getOutputs();
      if (outs.size() != f.payloads.size()) return "wrong number of outputs";
      std::uint64_t sum = 0;
      for (unsigned i = 0; i < outs.size(); ++i) {
        auto view = lane_.peerView(outs[i].getOffset(), outs[i].getSize());
        if (!view) return view.error().message;
        const Block& in = f.payloads[i];
        if (!isComplement(view.value(), {lane_.at(in.offset), in.size})) return "output bytes are not the transform";
        if (std::string(outs[i].getName().cStr()) != "in" + std::to_string(i) + "_out") return "wrong output name";
        sum = echo::combine(sum, echo::checksum(view.value()));
      }
      if (hex(sum) != res.getId().cStr()) return "response id is not the outputs' checksum";
      return "";
    });
    return checked ? checked.value() : checked.error().message;
  }

  bool drainResponses() {
    bool any = false;
    Descriptor d{};
    for (;;) {
      auto r = lane_.next(d);
      if (!r) {
        result_.error = r.error().message;
        return true;
      }
      if (!r.value()) break;
      any = true;
      auto it = inflight_.find(d.tag);
      if (it == inflight_.end()) {
        result_.error = "response for unknown tag " + std::to_string(d.tag);
        return true;
      }
      if (auto e = verify(d, it->second); !e.empty() && result_.error.empty())
        result_.error = "request " + std::to_string(d.tag) + ": " + e;
      for (const auto& b : it->second.payloads) lane_.free(b.offset);
      if (it->second.frame != ~0ULL) lane_.free(it->second.frame);
      inflight_.erase(it);
      releases_.push_back(d.tag);
      ++result_.verified;
      if (o_.onResponse) o_.onResponse(result_.verified);
    }
    postReleases();
    return any;
  }

  void postReleases() {
    while (!releases_.empty()) {
      Descriptor r{};
      r.kind = static_cast<std::uint32_t>(DescriptorKind::release);
      r.tag = releases_.front();
      if (!lane_.post(r)) break;
      releases_.pop_front();
    }
  }

  void sleep() {
    if (!lane_.armWait()) return;
    pollfd fds[2] = {{lane_.eventFd(), POLLIN, 0}, {pidfd_, POLLIN, 0}};
    // Generous: only a hung peer takes this long, and a dead one shows up on the pidfd at once.
    const int n = ::poll(fds, 2, 60'000);
    if (n == 0) result_.error = "no answer from the peer within 60 s";
    if (fds[0].revents & POLLIN) eventFdDrain(lane_.eventFd());
    if (fds[1].revents & POLLIN) {
      // Answers already in the ring still count; the peer's death ends the run after them.
      drainResponses();
      result_.peerDied = true;
      if (result_.error.empty()) result_.error = "peer exited";
    }
  }

  SupervisorLane& lane_;
  int pidfd_;
  DriveOptions o_;
  std::mt19937_64 rng_;
  std::unordered_map<std::uint64_t, InFlight> inflight_;
  std::deque<std::uint64_t> releases_;
  std::uint64_t tag_ = 0;
  std::uint64_t sent_ = 0;
  DriveResult result_;
};

}  // namespace

DriveResult drive(SupervisorLane& lane, int peerPidfd, const DriveOptions& options) {
  return Driver(lane, peerPidfd, options).run();
}

namespace {
std::string ask(SupervisorLane& lane, int peerPidfd, echo::Mode mode, std::uint64_t& arenaInUse) {
  Descriptor d{};
  d.kind = static_cast<std::uint32_t>(DescriptorKind::infer);
  d.tag = ~0ULL - static_cast<std::uint64_t>(mode);
  d.reserved[0] = static_cast<std::uint64_t>(mode);
  if (!lane.post(d)) return "ring full";
  lane.flush();
  for (;;) {
    Descriptor r{};
    auto got = lane.next(r);
    if (!got) return got.error().message;
    if (got.value()) {
      if (r.tag != d.tag) continue;
      arenaInUse = r.reserved[1];
      return "";
    }
    if (!lane.armWait()) continue;
    pollfd fds[2] = {{lane.eventFd(), POLLIN, 0}, {peerPidfd, POLLIN, 0}};
    if (::poll(fds, 2, 60'000) <= 0) return "no answer from the peer";
    if (fds[0].revents & POLLIN) eventFdDrain(lane.eventFd());
    if (fds[1].revents & POLLIN) {
      auto last = lane.next(r);
      if (last && last.value() && r.tag == d.tag) {
        arenaInUse = r.reserved[1];
        return "";
      }
      return "peer exited before answering";
    }
  }
}
}  // namespace

std::string quitPeer(SupervisorLane& lane, int peerPidfd, std::uint64_t& arenaInUse) {
  return ask(lane, peerPidfd, echo::Mode::quit, arenaInUse);
}

std::string syncPeer(SupervisorLane& lane, int peerPidfd, std::uint64_t& arenaInUse) {
  return ask(lane, peerPidfd, echo::Mode::sync, arenaInUse);
}

}  // namespace ringserve::transport::testing
