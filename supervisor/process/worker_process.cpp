// WorkerProcess (worker_process.hpp): spawning (segment, lane eventfds, control socketpair, the
// child), watching for its exit (pidfd, or SIGCHLD where there is none), stopping and killing it,
// and the exit report. The control channel is worker_channel.cpp.
#include "supervisor/process/worker_process_impl.hpp"

namespace ringserve::supervisor {

const char* toString(WorkerState s) {
  switch (s) {
    case WorkerState::starting: return "starting";
    case WorkerState::ready: return "ready";
    case WorkerState::stopping: return "stopping";
    case WorkerState::exited: return "exited";
  }
  return "exited";
}

namespace {
bool gForceSigchld = false;
}  // namespace

using namespace worker_process_detail;

// --- spawning ---

namespace {
// The supervisor's own limits, not the worker's doing (see SpawnError).
bool ownResources(int err) { return err == EMFILE || err == ENFILE || err == ENOMEM || err == EAGAIN; }
}  // namespace

BasicResult<std::unique_ptr<WorkerProcess>, SpawnError> WorkerProcess::spawn(event_base* mainLoop, WorkerLaunch launch,
                                                                             WorkerEvents events) {
  const std::string who = "worker " + launch.workerId + " (" + launch.poolLabel + ")";
  if (mainLoop == nullptr) return SpawnError{"cannot start " + who + ": no event loop"};
  if (launch.executable.empty()) return SpawnError{"cannot start " + who + ": no worker executable given"};
  if (launch.workerId.empty()) return SpawnError{"cannot start a worker of " + launch.poolLabel + ": empty worker id"};

  auto seg = transport::Segment::create(launch.segment, "ringserve:" + launch.workerId);
  if (!seg)
    return SpawnError{"cannot start " + who + ": shared memory: " + seg.error().message,
                      ownResources(seg.error().sysErrno)};

  std::vector<int> laneFds;
  auto closeAll = [&laneFds] {
    for (int fd : laneFds) ::close(fd);
  };
  for (std::uint32_t k = 0; k < launch.segment.lane_count; ++k) {
    const int fd = transport::makeEventFd();
    if (fd < 0) {
      const int e = errno;
      closeAll();
      return SpawnError{"cannot start " + who + ": eventfd: " + std::strerror(e), ownResources(e)};
    }
    laneFds.push_back(fd);
  }
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    const int e = errno;
    closeAll();
    return SpawnError{"cannot start " + who + ": socketpair: " + std::strerror(e), ownResources(e)};
  }

  detail::ChildSpec child;
  child.executable = launch.executable;
  child.inherit = {seg->fd(), sv[1]};
  child.inherit.insert(child.inherit.end(), laneFds.begin(), laneFds.end());
  std::string lanes;
  for (std::size_t k = 0; k < laneFds.size(); ++k) lanes += (k ? ",{fd" : "{fd") + std::to_string(2 + k) + "}";
  child.args = {"--shm-fd",       "{fd0}",
                "--control-fd",   "{fd1}",
                "--lane-fds",     lanes,
                "--worker-id",    launch.workerId,
                "--log-level",    launch.logLevel,
                "--spin-us",      std::to_string(launch.spinUs),
                "--heartbeat-ms", std::to_string(launch.heartbeatMs)};
  if (launch.jsonLogs) child.args.push_back("--json-logs");
  child.args.insert(child.args.end(), launch.extraArgs.begin(), launch.extraArgs.end());
  child.extraEnv = launch.extraEnv;
  child.cpu = launch.cpu;

  const auto spawned = detail::spawnChild(child);
  ::close(sv[1]);
  if (spawned.pid < 0) {
    ::close(sv[0]);
    closeAll();
    return SpawnError{"cannot start " + who + ": " + spawned.error, ownResources(spawned.sysErrno)};
  }

  std::unique_ptr<WorkerProcess> wp(new WorkerProcess());
  wp->launch_ = std::move(launch);
  wp->pid_ = spawned.pid;
  wp->shm_ = std::make_shared<const WorkerShm>(wp->launch_.workerId, std::move(seg.value()), std::move(laneFds));
  wp->impl_ = std::make_unique<Impl>(wp.get(), mainLoop, std::move(events));
  // From here the destructor kills and reaps the child if anything below fails.
  if (!wp->impl_->start(sv[0]))
    return SpawnError{"cannot start " + who + ": registering it with the event loop failed"};
  spdlog::info("{}: started pid {} ({})", who, wp->pid_, wp->launch_.executable);
  return wp;
}

WorkerProcess::~WorkerProcess() = default;

void WorkerProcess::loadModel(const ModelLoadSpec& spec, LoadCallback done) { impl_->loadModel(spec, std::move(done)); }
void WorkerProcess::unloadModel(std::uint32_t handle, UnloadCallback done) {
  impl_->unloadModel(handle, std::move(done));
}
void WorkerProcess::stop(std::chrono::milliseconds grace) { impl_->stop(grace); }
void WorkerProcess::kill() { impl_->kill(); }
std::size_t WorkerProcess::pendingControlRequests() const { return impl_->pendingCount(); }
void WorkerProcess::forceSigchldFallbackForTesting(bool on) { gForceSigchld = on; }

bool WorkerProcess::Impl::start(int controlFd) {
  evutil_make_socket_nonblocking(controlFd);
  channel_ = bufferevent_socket_new(base_, controlFd, BEV_OPT_CLOSE_ON_FREE);
  if (channel_ == nullptr) {
    ::close(controlFd);
    return false;
  }
  bufferevent_setcb(channel_, &Impl::readCb, nullptr, &Impl::eventCb, this);
  if (bufferevent_enable(channel_, EV_READ) != 0) return false;

  handshakeTimer_ = makeTimer(&Impl::handshakeTimeoutCb);
  stopTimer_ = makeTimer(&Impl::stopTimeoutCb);
  channelClosedTimer_ = makeTimer(&Impl::channelClosedCb);
  if (!handshakeTimer_ || !stopTimer_ || !channelClosedTimer_) return false;
  handshakeTimer_.add(toTimeval(owner_->launch_.handshakeTimeout));

  pidfd_ = gForceSigchld ? -1 : openPidfd(owner_->pid_);
  if (pidfd_ >= 0) {
    pidEvent_ = Event(base_, pidfd_, EV_READ | EV_PERSIST, &Impl::pidfdCb, this);
    return pidEvent_.add();
  }
  if (!gForceSigchld) spdlog::warn("pidfd_open: {}; watching {} through SIGCHLD", std::strerror(errno), who());
  registerSigchld();
  return sigchldEvent_ != nullptr;
}

WorkerProcess::Impl::~Impl() {
  *alive_ = false;
  if (channel_ != nullptr) bufferevent_free(channel_);
  for (Event* e : {&pidEvent_, &handshakeTimer_, &stopTimer_, &channelClosedTimer_, &sigchldKick_})
    e->reset();  // before the pidfd closes
  if (!reaped_ && owner_->pid_ > 0) {
    signalKill();
    int status = 0;
    while (::waitpid(owner_->pid_, &status, 0) < 0 && errno == EINTR) {
    }
    spdlog::info("{}: killed and reaped on destruction: {}", who(), describeWaitStatus(status));
  }
  if (usesSigchld_) unregisterSigchld();
  if (pidfd_ >= 0) ::close(pidfd_);
}

// --- SIGCHLD fallback ---

void WorkerProcess::Impl::registerSigchld() {
  usesSigchld_ = true;
  sigchldRegistry()[owner_->pid_] = this;
  if (sigchldEvent_ == nullptr) {
    sigchldEvent_ = evsignal_new(base_, SIGCHLD, &Impl::sigchldCb, nullptr);
    if (sigchldEvent_ != nullptr) evsignal_add(sigchldEvent_, nullptr);
  }
  // A child that died before the signal event existed sent its SIGCHLD to nobody.
  sigchldKick_ = makeTimer(&Impl::pidfdCb);
  sigchldKick_.activate(EV_TIMEOUT);
}

void WorkerProcess::Impl::unregisterSigchld() {
  sigchldRegistry().erase(owner_->pid_);
  usesSigchld_ = false;
  if (sigchldRegistry().empty() && sigchldEvent_ != nullptr) {
    event_free(sigchldEvent_);
    sigchldEvent_ = nullptr;
  }
}

void WorkerProcess::Impl::sigchldCb(evutil_socket_t, short, void*) {
  // A callback run by one exit may destroy other workers: look each pid up again.
  std::vector<pid_t> pids;
  for (const auto& [pid, impl] : sigchldRegistry()) pids.push_back(pid);
  for (pid_t pid : pids) {
    auto it = sigchldRegistry().find(pid);
    if (it != sigchldRegistry().end()) it->second->checkExited();
  }
}

// --- stopping ---

void WorkerProcess::Impl::signalKill() {
  if (reaped_) return;
  // pidfd_send_signal cannot hit a recycled pid; kill() is safe too since we have not reaped it.
  if (pidfd_ >= 0 && sendSignal(pidfd_, SIGKILL) == 0) return;
  ::kill(owner_->pid_, SIGKILL);
}

void WorkerProcess::Impl::killFor(std::string reason, bool incompatible) {
  // Also while draining a reaped worker's last words: the reason still describes its end.
  if (killReason_.empty()) killReason_ = std::move(reason);
  incompatible_ = incompatible_ || incompatible;
  if (channel_ != nullptr) bufferevent_disable(channel_, EV_READ);
  signalKill();
}

void WorkerProcess::Impl::stop(std::chrono::milliseconds grace) {
  auto& state = owner_->state_;
  if (state == WorkerState::stopping || state == WorkerState::exited) return;
  requested_ = true;
  if (state == WorkerState::starting) {
    state = WorkerState::stopping;
    signalKill();
    return;
  }
  state = WorkerState::stopping;
  grace_ = grace;
  send(detail::encodeShutdown(0));
  stopTimer_.add(toTimeval(grace));
}

void WorkerProcess::Impl::stopTimeoutCb(evutil_socket_t, short, void* p) {
  auto* self = static_cast<Impl*>(p);
  if (self->reaped_) return;
  spdlog::warn("{}: did not stop within {}; killing it", self->who(), formatDuration(self->grace_));
  self->graceExpired_ = true;
  self->signalKill();
}

void WorkerProcess::Impl::kill() {
  if (owner_->state_ == WorkerState::exited) return;
  requested_ = true;
  owner_->state_ = WorkerState::stopping;
  signalKill();
}

// --- exit ---

void WorkerProcess::Impl::checkExited() {
  if (reaped_) return;
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(owner_->pid_, &status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == 0) return;  // still running (a SIGCHLD for another child)
  // ECHILD: someone else reaped it (SIGCHLD ignored process-wide); it is gone all the same.
  onReaped(status, r > 0);
}

void WorkerProcess::Impl::onReaped(int waitStatus, bool statusKnown) {
  reaped_ = true;  // from here signalKill() is a no-op: the pid may already be someone else's
  if (!drainChannel()) return;
  owner_->state_ = WorkerState::exited;
  pidEvent_.del();
  for (Event* e : {&handshakeTimer_, &stopTimer_, &channelClosedTimer_}) e->del();
  if (usesSigchld_) unregisterSigchld();
  if (channel_ != nullptr) {
    bufferevent_free(channel_);
    channel_ = nullptr;
  }

  WorkerExit exit;
  const std::string status = statusKnown ? describeWaitStatus(waitStatus) : "ended (exit status unknown)";
  if (statusKnown && WIFEXITED(waitStatus)) exit.exitStatus = WEXITSTATUS(waitStatus);
  if (statusKnown && WIFSIGNALED(waitStatus)) exit.signal = WTERMSIG(waitStatus);
  exit.beforeReady = !helloSeen_ || incompatible_;
  exit.requested = requested_;
  exit.incompatible = incompatible_;
  if (!killReason_.empty())
    exit.reason = killReason_;
  else if (graceExpired_)
    exit.reason = status + " after not stopping within " + formatDuration(grace_);
  else if (!helloSeen_ && !requested_)
    exit.reason = status + " before its handshake";
  else
    exit.reason = status;
  if (requested_ && killReason_.empty())
    spdlog::info("{}: stopped: {}", who(), exit.reason);
  else
    spdlog::error("{}: {}", who(), exit.reason);

  auto token = alive_;
  auto pending = std::move(pending_);
  pending_.clear();
  const Error gone = unavailable(who() + " ended before answering: " + exit.reason);
  for (auto& [id, p] : pending) {
    if (p.load) p.load(gone);
    if (p.unload) p.unload(gone);
    if (!*token) return;
  }
  if (auto cb = events_.onExit) cb(exit);
}

}  // namespace ringserve::supervisor
