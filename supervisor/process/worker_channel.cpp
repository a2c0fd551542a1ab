// WorkerProcess's control channel (worker_process_impl.hpp): requests sent, frames read through
// the transport's checked stream decoder, replies matched to their request, the handshake and
// its deadline, and a channel that closes while the process runs. Main loop only.
#include "supervisor/process/worker_process_impl.hpp"

namespace ringserve::supervisor {

using namespace worker_process_detail;

// --- control channel ---

void WorkerProcess::Impl::send(const std::vector<std::byte>& frame) {
  if (channel_ != nullptr) bufferevent_write(channel_, frame.data(), frame.size());
}

template <class Encode>
void WorkerProcess::Impl::request(Pending pending, Encode encode) {
  if (owner_->state_ != WorkerState::ready) {
    if (pending.load) pending.load(notReady());
    if (pending.unload) pending.unload(notReady());
    return;
  }
  const std::uint64_t id = nextId_++;
  pending_[id] = std::move(pending);
  send(encode(id));
}

void WorkerProcess::Impl::loadModel(const ModelLoadSpec& spec, LoadCallback done) {
  request(Pending{std::move(done), nullptr}, [&spec](std::uint64_t id) { return detail::encodeLoadModel(id, spec); });
}

void WorkerProcess::Impl::unloadModel(std::uint32_t handle, UnloadCallback done) {
  request(Pending{nullptr, std::move(done)},
          [handle](std::uint64_t id) { return detail::encodeUnloadModel(id, handle); });
}

void WorkerProcess::Impl::feedBuffered() {
  evbuffer* in = bufferevent_get_input(channel_);
  std::byte chunk[16384];
  for (;;) {
    const int n = evbuffer_remove(in, chunk, sizeof chunk);
    if (n <= 0) break;
    decoder_.feed(std::span<const std::byte>(chunk, static_cast<std::size_t>(n)));
  }
}

void WorkerProcess::Impl::onReadable() {
  feedBuffered();
  processFrames();
}

bool WorkerProcess::Impl::drainChannel() {
  if (channel_ == nullptr || !killReason_.empty()) return true;
  feedBuffered();
  std::byte chunk[16384];
  const int fd = bufferevent_getfd(channel_);
  for (;;) {
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    decoder_.feed(std::span<const std::byte>(chunk, static_cast<std::size_t>(n)));
  }
  return processFrames();
}

bool WorkerProcess::Impl::processFrames() {
  for (;;) {
    auto next = decoder_.next();
    if (!next) {
      killFor(who() + " sent a malformed control frame: " + next.error().message, false);
      return true;
    }
    if (!next.value()) return true;
    auto decoded = detail::decodeFromWorker(std::move(*next.value()));
    if (!decoded.ok) {
      killFor(who() + " sent a malformed control message: " + decoded.error, false);
      return true;
    }
    if (!handleFrame(std::move(decoded.frame))) return false;
    if (channel_ == nullptr || !killReason_.empty()) return true;
  }
}

bool WorkerProcess::Impl::handleFrame(detail::FromWorkerFrame frame) {
  auto token = alive_;
  if (!helloSeen_) {
    if (auto* hello = std::get_if<detail::HelloFrame>(&frame.body)) return handleHello(std::move(*hello));
    killFor(who() + " did not start with a hello message", false);
    return true;
  }
  if (std::holds_alternative<detail::HelloFrame>(frame.body)) {
    spdlog::warn("{}: ignoring a second hello", who());
    return true;
  }
  if (auto* hb = std::get_if<WorkerHeartbeat>(&frame.body)) {
    if (frame.id == 0) {
      // A copy: the callback may destroy this worker, and with it events_.
      if (auto cb = events_.onHeartbeat) cb(*hb);
      return *token;
    }
  }
  auto it = pending_.find(frame.id);
  if (it == pending_.end()) {
    spdlog::warn("{}: ignoring a reply to unknown request {}", who(), frame.id);
    return true;
  }
  Pending p = std::move(it->second);
  pending_.erase(it);
  const Error unexpected =
      internalError(who() + " answered request " + std::to_string(frame.id) + " with a message of the wrong kind");
  if (p.load) {
    if (auto* m = std::get_if<LoadedModel>(&frame.body))
      p.load(std::move(*m));
    else if (auto* e = std::get_if<Error>(&frame.body))
      p.load(std::move(*e));
    else
      p.load(unexpected);
  } else if (p.unload) {
    if (auto* h = std::get_if<std::uint32_t>(&frame.body))
      p.unload(*h);
    else if (auto* e = std::get_if<Error>(&frame.body))
      p.unload(std::move(*e));
    else
      p.unload(unexpected);
  }
  return *token;
}

bool WorkerProcess::Impl::handleHello(detail::HelloFrame hello) {
  helloSeen_ = true;
  handshakeTimer_.del();
  if (const std::string refusal = detail::judgeHello(hello, owner_->poolLabel()); !refusal.empty()) {
    spdlog::error("{}: {}", who(), refusal);
    killFor(refusal, true);
    return true;
  }
  if (owner_->state_ != WorkerState::starting) return true;  // stop() came first
  if (hello.hello.compatibility == Compatibility::untested)
    spdlog::warn("{} speaks protocol {}, newer than this server's {}; accepted, untested", who(),
                 toString(hello.hello.protocol), supportedProtocolRange());
  owner_->state_ = WorkerState::ready;
  spdlog::info("{}: ready (pid {}, version {}, protocol {})", who(), owner_->pid_, hello.hello.workerVersion,
               toString(hello.hello.protocol));
  auto token = alive_;
  if (auto cb = events_.onReady) cb(hello.hello);
  return *token;
}

void WorkerProcess::Impl::onChannelEvent(short what) {
  if ((what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) == 0) return;
  bufferevent_disable(channel_, EV_READ | EV_WRITE);
  // An exiting worker's pidfd normally fires at the same time; give it the chance to report the
  // real exit status. A stopping worker is already under the stop timer.
  if (!reaped_ && owner_->state_ != WorkerState::stopping) {
    channelClosedTimer_.add(toTimeval(kChannelClosedGrace));
  }
}

void WorkerProcess::Impl::channelClosedCb(evutil_socket_t, short, void* p) {
  auto* self = static_cast<Impl*>(p);
  if (!self->reaped_) self->killFor(self->who() + " closed its control channel but kept running", false);
}

void WorkerProcess::Impl::handshakeTimeoutCb(evutil_socket_t, short, void* p) {
  auto* self = static_cast<Impl*>(p);
  if (!self->helloSeen_ && !self->reaped_)
    self->killFor(self->who() + " sent no handshake within " + formatDuration(self->owner_->launch_.handshakeTimeout),
                  false);
}

}  // namespace ringserve::supervisor
