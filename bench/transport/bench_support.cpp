#include "bench_support.hpp"

#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "transport/wake.hpp"

namespace ringserve::bench {

using namespace transport;

const char* name(Placement p) {
  switch (p) {
    case Placement::same: return "same";
    case Placement::split: return "split";
    case Placement::unpinned: return "unpinned";
  }
  return "?";
}
int callerCpu(Placement p) { return p == Placement::unpinned ? -1 : 0; }
int peerCpu(Placement p) { return p == Placement::unpinned ? -1 : p == Placement::same ? 0 : 1; }

ScopedPin::ScopedPin(int cpu) {
  if (cpu < 0) return;
  sched_getaffinity(0, sizeof saved_, &saved_);
  cpu_set_t s;
  CPU_ZERO(&s);
  CPU_SET(cpu, &s);
  pinned_ = sched_setaffinity(0, sizeof s, &s) == 0;
}

ScopedPin::~ScopedPin() {
  if (pinned_) sched_setaffinity(0, sizeof saved_, &saved_);
}

Child::Child(int cpu, const std::function<void()>& body) {
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    if (cpu >= 0) {
      cpu_set_t s;
      CPU_ZERO(&s);
      CPU_SET(cpu, &s);
      sched_setaffinity(0, sizeof s, &s);
    }
    body();
    ::_exit(0);
  }
}

Child::~Child() {
  if (pid_ > 0 && !reaped_) {
    ::kill(pid_, SIGKILL);
    wait();
  }
}

int Child::wait() {
  int status = 0;
  while (::wait4(pid_, &status, 0, &usage_) < 0 && errno == EINTR) {
  }
  reaped_ = true;
  return status;
}

void Samples::report(benchmark::State& state) {
  if (ns_.empty()) return;
  auto at = [&](double q) {
    const std::size_t k = std::min(ns_.size() - 1, static_cast<std::size_t>(q * static_cast<double>(ns_.size() - 1) + 0.5));
    std::nth_element(ns_.begin(), ns_.begin() + static_cast<long>(k), ns_.end());
    return static_cast<double>(ns_[k]) / 1000.0;
  };
  state.counters["p50_us"] = at(0.50);
  state.counters["p99_us"] = at(0.99);
  state.counters["p999_us"] = at(0.999);
}

void runBenchWorker(int segmentFd, int laneEventFd, std::uint64_t spinNs) {
  auto seg = Segment::open(::dup(segmentFd));
  if (!seg) ::_exit(2);
  WorkerEndpoint ep(*seg, {laneEventFd});
  std::unordered_map<std::uint64_t, std::uint64_t> held;  // tag -> response block
  for (;;) {
    Descriptor d{};
    std::uint32_t lane = 0;
    bool any = false;
    for (;;) {
      auto r = ep.next(d, lane);
      if (!r) ::_exit(3);
      if (!r.value()) break;
      any = true;
      if (d.kind == static_cast<std::uint32_t>(DescriptorKind::release)) {
        if (auto it = held.find(d.tag); it != held.end()) {
          ep.arena().free(it->second);
          held.erase(it);
        }
        continue;
      }
      Descriptor out{};
      out.kind = static_cast<std::uint32_t>(DescriptorKind::response);
      out.tag = d.tag;
      switch (static_cast<Op>(d.reserved[0])) {
        case Op::echo: {
          auto in = ep.peerView(lane, d.frame_offset, d.frame_size);
          auto off = ep.arena().allocate(d.frame_size);
          if (!in || !off) ::_exit(4);
          std::memcpy(ep.at(off.value()), in->data(), in->size());
          held.emplace(d.tag, off.value());
          out.frame_offset = off.value();
          out.frame_size = d.frame_size;
          break;
        }
        case Op::sum: {
          auto in = ep.peerView(lane, d.frame_offset, d.frame_size);
          if (!in) ::_exit(4);
          const auto* w = reinterpret_cast<const std::uint64_t*>(in->data());
          std::uint64_t s = 0;
          for (std::size_t i = 0; i < in->size() / 8; ++i) s += w[i];
          out.reserved[1] = s;
          break;
        }
        case Op::touch: {
          auto in = ep.peerView(lane, d.frame_offset, d.frame_size);
          if (!in) ::_exit(4);
          const auto* w = reinterpret_cast<const std::uint64_t*>(in->data());
          std::uint64_t s = 0;
          for (std::size_t i = 0; i < in->size() / 8; i += 512) s += w[i];
          out.reserved[1] = s;
          break;
        }
        case Op::sink:
          continue;
        case Op::ack:
          break;
        case Op::quit:
          out.reserved[1] = ep.wakeupsSent();
          out.reserved[2] = ep.sleeps();
          ep.respond(lane, out);
          ep.flush();
          return;
      }
      ep.respond(lane, out);
    }
    ep.flush();
    if (!any) ep.wait(spinNs, -1);
  }
}

LaneClient::LaneClient(const Segment& segment, int eventFd) : lane_(segment, 0, eventFd) {}

void LaneClient::send(Op op, const void* src, std::uint64_t bytes) {
  Descriptor d{};
  d.kind = static_cast<std::uint32_t>(DescriptorKind::infer);
  d.tag = nextTag_++;
  d.reserved[0] = static_cast<std::uint64_t>(op);
  if (bytes > 0) {
    auto off = lane_.allocate(bytes);
    if (!off) throw std::runtime_error(off.error().message);
    if (src != nullptr) std::memcpy(lane_.at(off.value()), src, bytes);
    d.frame_offset = off.value();
    d.frame_size = bytes;
    requestBlocks_.emplace(d.tag, off.value());
  }
  while (!lane_.post(d)) {
    // Only the one-way stream fills the ring: let the worker catch up.
    lane_.flush();
    sched_yield();
  }
}

void LaneClient::settle(const Descriptor& d) {
  if (auto it = requestBlocks_.find(d.tag); it != requestBlocks_.end()) {
    lane_.free(it->second);
    requestBlocks_.erase(it);
  }
  if (d.frame_size > 0) {
    Descriptor rel{};
    rel.kind = static_cast<std::uint32_t>(DescriptorKind::release);
    rel.tag = d.tag;
    while (!lane_.post(rel)) {
      lane_.flush();
      sched_yield();
    }
  }
}

bool LaneClient::tryReceive(Descriptor& out) {
  auto r = lane_.next(out);
  if (!r) throw std::runtime_error(r.error().message);
  if (!r.value()) return false;
  settle(out);
  return true;
}

Descriptor LaneClient::receive() {
  Descriptor d{};
  for (;;) {
    if (tryReceive(d)) return d;
    if (!lane_.armWait()) continue;
    pollfd p{lane_.eventFd(), POLLIN, 0};
    ++sleeps_;
    ::poll(&p, 1, -1);
    eventFdDrain(lane_.eventFd());
  }
}

std::span<const std::byte> LaneClient::payload(const Descriptor& d) const {
  auto v = lane_.peerView(d.frame_offset, d.frame_size);
  if (!v) throw std::runtime_error(v.error().message);
  return v.value();
}

std::pair<std::uint64_t, std::uint64_t> LaneClient::quit() {
  send(Op::quit, nullptr, 0);
  flush();
  for (;;) {
    Descriptor d = receive();
    if (d.tag == nextTag_ - 1) return {d.reserved[1], d.reserved[2]};
  }
}

Segment benchSegment(std::uint64_t arenaBytes, std::uint32_t ringSlots) {
  SegmentConfig c;
  c.lane_count = 1;
  c.ring_slots = ringSlots;
  c.request_arena_size = arenaBytes;
  c.response_arena_size = arenaBytes;
  auto s = Segment::create(c, "ringserve-bench");
  if (!s) throw std::runtime_error(s.error().message);
  return std::move(s.value());
}

std::uint64_t workerSpinNs() {
  const char* e = std::getenv("RINGSERVE_BENCH_SPIN_US");
  return (e != nullptr ? std::strtoull(e, nullptr, 10) : 20) * 1000;
}

}  // namespace ringserve::bench
