#include "supervisor/core/lane_client.hpp"

#include <spdlog/spdlog.h>

#include "transport/wake.hpp"

namespace ringserve::supervisor {

using transport::Descriptor;
using transport::DescriptorKind;

namespace {
Error fromTransport(const transport::TransportError& e) {
  if (e.code == transport::ErrorCode::arenaFull) return unavailable(e.message);
  return internalError(e.message);
}

// Deleter-held state of a retained response: releases on the lane's loop when dropped.
struct RetainedResponse {
  std::weak_ptr<LaneClient> lane;
  std::shared_ptr<WorkerLink> link;  // keeps the segment mapped while bytes are referenced
  std::uint64_t tag;
  ~RetainedResponse() {
    if (auto l = lane.lock()) l->releaseResponse(tag);
  }
};
}  // namespace

Expected<std::span<const std::byte>> Completion::outputBytes(std::uint64_t offset, std::uint64_t size) const {
  // Responses live in the worker's arena; only there may output offsets point.
  const auto& seg = lane->link()->shm->segment();
  auto v = seg.view(seg.responseArena(), offset, size);
  if (!v)
    return internalError("worker " + lane->link()->id + " sent an output outside its arena: " + v.error().message);
  return std::span<const std::byte>(v.value());
}

std::shared_ptr<void> Completion::retain() {
  if (!retainedHandle) {
    auto r = std::make_shared<RetainedResponse>();
    r->lane = lane->weak_from_this();
    r->link = lane->link();
    r->tag = tag;
    retainedHandle = r;
    retained = true;
  }
  return retainedHandle;
}

LaneClient::LaneClient(EventLoop& loop, std::shared_ptr<WorkerLink> link, std::uint32_t lane)
    : loop_(loop),
      link_(std::move(link)),
      lane_(link_->shm->segment(), lane, link_->shm->laneEventFd(lane)),
      maxInRing_(link_->shm->segment().geometry().ring_slots / 2) {
  event_ = Event(loop_.base(), lane_.eventFd(), EV_READ | EV_PERSIST, &LaneClient::onEvent, this);
  event_.add();
}

LaneClient::~LaneClient() {
  event_.reset();
  failAll(unavailable("worker " + link_->id + " of pool " + link_->pool + " is no longer serving"));
}

Expected<std::uint64_t> LaneClient::allocate(std::uint64_t bytes) {
  auto r = lane_.allocate(bytes);
  if (!r) return fromTransport(r.error());
  link_->requestBytesInUse.fetch_add(lane_.arena().blockSize(r.value()), std::memory_order_relaxed);
  return r.value();
}

std::span<std::byte> LaneClient::bytes(std::uint64_t offset, std::uint64_t size) const {
  return {lane_.at(offset), static_cast<std::size_t>(size)};
}

void LaneClient::free(std::uint64_t offset) {
  link_->requestBytesInUse.fetch_sub(lane_.arena().blockSize(offset), std::memory_order_relaxed);
  lane_.free(offset);
}

Expected<std::uint64_t> LaneClient::submit(std::uint64_t frameOffset, std::uint64_t frameSize,
                                           std::vector<std::uint64_t> blocks, Done done) {
  if (failed_ || link_->dead()) {
    for (auto b : blocks) free(b);
    return unavailable("worker " + link_->id + " of pool " + link_->pool + " died (" + link_->deathReason() + ")");
  }
  const std::uint64_t tag = nextTag_++;
  Descriptor d{};
  d.kind = static_cast<std::uint32_t>(DescriptorKind::infer);
  d.tag = tag;
  d.frame_offset = frameOffset;
  d.frame_size = frameSize;
  d.sent_ns = transport::monotonicNs();
  pending_.emplace(tag, Pending{std::move(blocks), std::move(done)});
  link_->inFlight.fetch_add(1, std::memory_order_relaxed);
  if (inRing_ < maxInRing_ && backlog_.empty() && lane_.post(d)) {
    ++inRing_;
    scheduleFlush();
  } else {
    backlog_.push_back(d);
  }
  return tag;
}

void LaneClient::scheduleFlush() {
  loop_.atEndOfTurn(this, [w = weak_from_this()] {
    if (auto self = w.lock()) self->lane_.flush();
  });
}

void LaneClient::pushOrBacklog(const Descriptor& d) {
  if (backlog_.empty() && lane_.post(d)) {
    scheduleFlush();
    return;
  }
  backlog_.push_back(d);
}

void LaneClient::flushBacklog() {
  while (!backlog_.empty()) {
    const Descriptor& d = backlog_.front();
    const bool isInfer = d.kind == static_cast<std::uint32_t>(DescriptorKind::infer);
    if (isInfer && inRing_ >= maxInRing_) break;
    if (!lane_.post(d)) break;
    if (isInfer) ++inRing_;
    backlog_.pop_front();
    scheduleFlush();
  }
}

void LaneClient::abandon(std::uint64_t tag) {
  auto it = pending_.find(tag);
  if (it != pending_.end()) it->second.done = nullptr;
}

void LaneClient::releaseResponse(std::uint64_t tag) {
  if (failed_) return;
  Descriptor d{};
  d.kind = static_cast<std::uint32_t>(DescriptorKind::release);
  d.tag = tag;
  pushOrBacklog(d);
}

void LaneClient::onEvent(evutil_socket_t, short, void* self) {
  auto* lane = static_cast<LaneClient*>(self);
  transport::eventFdDrain(lane->lane_.eventFd());
  auto keep = lane->shared_from_this();
  lane->drain();
}

void LaneClient::drain() {
  for (;;) {
    Descriptor d{};
    for (;;) {
      auto r = lane_.next(d);
      if (!r) {
        spdlog::error("worker {}: response ring corrupt ({}); failing its requests", link_->id, r.error().message);
        failAll(internalError("worker " + link_->id + " corrupted its response ring"));
        return;
      }
      if (!r.value()) break;
      completeOne(d);
    }
    flushBacklog();
    if (lane_.armWait()) break;
  }
}

void LaneClient::completeOne(const Descriptor& d) {
  if (d.kind != static_cast<std::uint32_t>(DescriptorKind::response)) {
    spdlog::warn("worker {}: unexpected descriptor kind {} on the response ring", link_->id, d.kind);
    return;
  }
  auto it = pending_.find(d.tag);
  if (it == pending_.end()) {
    spdlog::warn("worker {}: response for unknown request tag {}", link_->id, d.tag);
    return;
  }
  Pending p = std::move(it->second);
  pending_.erase(it);
  if (inRing_ > 0) --inRing_;
  link_->inFlight.fetch_sub(1, std::memory_order_relaxed);
  // The worker is done with the inputs once it has answered.
  for (auto b : p.blocks) free(b);

  Completion c;
  c.lane = this;
  c.tag = d.tag;
  std::optional<transport::FrameReader> reader;
  if (d.error_code != 0) {
    c.error = d.error_code == static_cast<std::uint32_t>(transport::DescriptorError::responseArenaFull)
                  ? unavailable("worker " + link_->id +
                                " could not allocate its response: the response arena is full "
                                "(raise shm_size in settings.json or RINGSERVE_SHM_SIZE)")
                  : internalError("worker " + link_->id + " could not read the request frame");
  } else if (auto fr = lane_.responseFrame(d); !fr) {  // the checked reader tests/transport/fuzz_test.cpp fuzzes
    c.error = internalError("worker " + link_->id + " sent a malformed response: " + fr.error().message);
  } else {
    reader.emplace(std::move(fr.value()));
    auto root = reader->root<schema::InferResponse>();
    if (!root)
      c.error = internalError("worker " + link_->id + " sent a malformed response: " + root.error().message);
    else
      c.response = root.value();
  }
  if (p.done) {
    try {
      p.done(c);
    } catch (const kj::Exception& e) {
      spdlog::error("worker {}: malformed response: {}", link_->id, e.getDescription().cStr());
    } catch (const std::exception& e) {
      spdlog::error("worker {}: completing a request failed: {}", link_->id, e.what());
    }
  }
  if (!c.retained) releaseResponse(d.tag);
}

void LaneClient::failAll(const Error& error) {
  failed_ = true;
  auto pending = std::move(pending_);
  pending_.clear();
  backlog_.clear();
  for (auto& [tag, p] : pending) {
    link_->inFlight.fetch_sub(1, std::memory_order_relaxed);
    if (!p.done) continue;
    Completion c;
    c.lane = this;
    c.tag = tag;
    c.error = error;
    p.done(c);
  }
}

}  // namespace ringserve::supervisor
