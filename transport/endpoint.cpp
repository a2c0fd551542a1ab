#include "transport/endpoint.hpp"

#include <sched.h>

#include <atomic>

#include "transport/wake.hpp"

namespace ringserve::transport {

namespace {
std::string laneName(std::uint32_t k) { return "request arena of lane " + std::to_string(k); }
}  // namespace

SupervisorLane::SupervisorLane(const Segment& segment, std::uint32_t lane, int eventFd)
    : segment_(&segment),
      lane_(lane),
      eventFd_(eventFd),
      requests_(&segment.lane(lane).request, segment.requestSlots(lane), segment.geometry().ring_slots),
      responses_(&segment.lane(lane).response, segment.responseSlots(lane), segment.geometry().ring_slots),
      arena_(segment.requestArena(lane).offset, segment.requestArena(lane).size, laneName(lane),
             segment.geometry().shm_size_setting) {
  std::atomic_ref(segment.lane(lane).loop_waiting).store(1, std::memory_order_seq_cst);
}

bool SupervisorLane::post(const Descriptor& d) {
  if (!requests_.tryPush(d)) return false;
  posted_ = true;
  return true;
}

void SupervisorLane::flush() {
  if (!posted_) return;
  posted_ = false;
  auto& h = segment_->header();
  // Store-load ordering between our head publish and the read of worker_sleeping: a seq_cst RMW on
  // the head (+0) rather than a fence, which ThreadSanitizer cannot model. Paired with wait().
  std::atomic_ref(segment_->lane(lane_).request.head).fetch_add(0, std::memory_order_seq_cst);
  if (std::atomic_ref(h.worker_sleeping).exchange(0, std::memory_order_seq_cst) == 1) {
    std::atomic_ref(h.worker_wake_seq).fetch_add(1, std::memory_order_seq_cst);
    futexWakeAll(&h.worker_wake_seq);
    ++wakeups_;
  }
}

bool SupervisorLane::armWait() {
  // seq_cst store, then a seq_cst load of the response head (empty()): paired with the worker's
  // flush(), either we see its response or it sees loop_waiting = 1 and notifies the eventfd.
  std::atomic_ref(segment_->lane(lane_).loop_waiting).store(1, std::memory_order_seq_cst);
  return responses_.empty();
}

Result<std::span<const std::byte>> SupervisorLane::peerView(std::uint64_t offset, std::uint64_t len) const {
  auto v = segment_->view(segment_->responseArena(), offset, len);
  if (!v) return v.error();
  return std::span<const std::byte>(v.value());
}

Result<FrameReader> SupervisorLane::responseFrame(const Descriptor& d) const {
  if (d.kind != static_cast<std::uint32_t>(DescriptorKind::response))
    return makeError(ErrorCode::corrupt, "descriptor of kind " + std::to_string(d.kind) + " where a response was expected");
  if (d.error_code != static_cast<std::uint32_t>(DescriptorError::none))
    return makeError(ErrorCode::corrupt, "response " + std::to_string(d.tag) + " carries error " +
                                             std::to_string(d.error_code) + " and no frame");
  auto v = peerView(d.frame_offset, d.frame_size);
  if (!v) return v.error();
  return FrameReader::open(v.value());
}

WorkerEndpoint::WorkerEndpoint(const Segment& segment, std::vector<int> laneEventFds)
    : segment_(&segment),
      eventFds_(std::move(laneEventFds)),
      arena_(segment.responseArena().offset, segment.responseArena().size, "response arena",
             segment.geometry().shm_size_setting) {
  const auto& h = segment.geometry();
  for (std::uint32_t k = 0; k < h.lane_count; ++k) {
    requests_.emplace_back(&segment.lane(k).request, segment.requestSlots(k), h.ring_slots);
    responses_.emplace_back(&segment.lane(k).response, segment.responseSlots(k), h.ring_slots);
  }
  respondedTo_.assign(h.lane_count, 0);
  eventFds_.resize(h.lane_count, -1);
}

Result<bool> WorkerEndpoint::next(Descriptor& out, std::uint32_t& lane) {
  const auto n = static_cast<std::uint32_t>(requests_.size());
  for (std::uint32_t i = 0; i < n; ++i) {
    const std::uint32_t k = (nextLane_ + i) % n;
    auto r = requests_[k].tryPop(out);
    if (!r) return r.error();
    if (r.value()) {
      lane = k;
      nextLane_ = (k + 1) % n;
      return true;
    }
  }
  return false;
}

bool WorkerEndpoint::anyPending() const {
  for (const auto& r : requests_)
    if (!r.empty()) return true;
  return false;
}

void WorkerEndpoint::wait(std::uint64_t spinNs, std::int64_t timeoutNs) {
  if (spinNs > 0) {
    // A short spin catches the next request when the lane posts again within microseconds, and
    // then needs no futex wake at all. Between checks the CPU is yielded: when the lane shares
    // this vCPU, a pure spin would keep it from running until the spin ran out; on a vCPU of its
    // own, sched_yield returns at once.
    const std::uint64_t until = monotonicNs() + spinNs;
    do {
      for (int round = 0; round < 4; ++round) {
        for (int i = 0; i < 4; ++i) cpuRelax();
        if (anyPending()) return;
      }
      sched_yield();
    } while (monotonicNs() < until);
  }
  auto& h = segment_->header();
  const std::uint32_t seq = std::atomic_ref(h.worker_wake_seq).load(std::memory_order_seq_cst);
  // interrupt() sets the flag before bumping wake_seq: either we see the flag here or the futex
  // sees a wake_seq other than `seq` and returns at once.
  if (interrupted_->exchange(false, std::memory_order_seq_cst)) return;
  // seq_cst store, then seq_cst loads of every request head (anyPending): paired with the lane's
  // flush(), either we see its request or it sees worker_sleeping = 1 and wakes the futex.
  std::atomic_ref(h.worker_sleeping).store(1, std::memory_order_seq_cst);
  if (!anyPending()) {
    ++sleeps_;
    futexWait(&h.worker_wake_seq, seq, timeoutNs);
  }
  std::atomic_ref(h.worker_sleeping).store(0, std::memory_order_relaxed);
}

void WorkerEndpoint::interrupt() {
  auto& h = segment_->header();
  interrupted_->store(true, std::memory_order_seq_cst);
  std::atomic_ref(h.worker_wake_seq).fetch_add(1, std::memory_order_seq_cst);
  futexWakeAll(&h.worker_wake_seq);
}

void WorkerEndpoint::respond(std::uint32_t lane, const Descriptor& d) {
  while (!responses_[lane].tryPush(d)) {
    // Only a lane that broke its in-flight bound gets here; let it catch up.
    flush();
    sched_yield();
  }
  respondedTo_[lane] = 1;
}

void WorkerEndpoint::flush() {
  for (std::uint32_t k = 0; k < respondedTo_.size(); ++k) {
    if (!respondedTo_[k]) continue;
    respondedTo_[k] = 0;
    // As in SupervisorLane::flush: a seq_cst RMW on the head we published orders it before the
    // read of loop_waiting. Paired with armWait().
    std::atomic_ref(segment_->lane(k).response.head).fetch_add(0, std::memory_order_seq_cst);
    if (std::atomic_ref(segment_->lane(k).loop_waiting).exchange(0, std::memory_order_seq_cst) == 1 &&
        eventFds_[k] >= 0) {
      eventFdNotify(eventFds_[k]);
      ++wakeups_;
    }
  }
}

Result<std::span<const std::byte>> WorkerEndpoint::peerView(std::uint32_t lane, std::uint64_t offset,
                                                            std::uint64_t len) const {
  if (lane >= requests_.size()) return makeError(ErrorCode::corrupt, "lane " + std::to_string(lane) + " does not exist");
  auto v = segment_->view(segment_->requestArena(lane), offset, len);
  if (!v) return v.error();
  return std::span<const std::byte>(v.value());
}

void WorkerEndpoint::recordProgress() {
  std::atomic_ref(segment_->header().worker_progress).fetch_add(1, std::memory_order_relaxed);
}

Result<FrameReader> WorkerEndpoint::requestFrame(std::uint32_t lane, const Descriptor& d) const {
  if (d.kind != static_cast<std::uint32_t>(DescriptorKind::infer))
    return makeError(ErrorCode::corrupt, "descriptor of kind " + std::to_string(d.kind) + " where a request was expected");
  auto v = peerView(lane, d.frame_offset, d.frame_size);
  if (!v) return v.error();
  return FrameReader::open(v.value());
}

}  // namespace ringserve::transport
