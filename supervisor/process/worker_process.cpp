#include "supervisor/process/worker_process.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

#include "supervisor/event.hpp"
#include "supervisor/process/exit_status.hpp"
#include "supervisor/process/restart_policy.hpp"
#include "supervisor/process/spawn_child.hpp"
#include "supervisor/process/worker_codec.hpp"
#include "transport/frame.hpp"
#include "transport/wake.hpp"

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

// Raw syscalls: glibc 2.36's <sys/pidfd.h> lacks extern "C", and older libcs lack the wrappers.
int openPidfd(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }
int sendSignal(int pidfd, int sig) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

// How long a worker that closed its control channel may keep running before it is killed: long
// enough that an exiting worker's pidfd wins the race and its real exit status is reported.
constexpr std::chrono::milliseconds kChannelClosedGrace{2000};

timeval toTimeval(std::chrono::milliseconds d) {
  const auto ms = d.count() < 0 ? 0 : d.count();
  return timeval{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
}

}  // namespace

class WorkerProcess::Impl {
 public:
  Impl(WorkerProcess* owner, event_base* base, WorkerEvents events)
      : owner_(owner), base_(base), events_(std::move(events)) {}
  ~Impl();

  bool start(int controlFd);
  void loadModel(const ModelLoadSpec& spec, LoadCallback done);
  void unloadModel(std::uint32_t handle, UnloadCallback done);
  void stop(std::chrono::milliseconds grace);
  void kill();
  std::size_t pendingCount() const { return pending_.size(); }

 private:
  struct Pending {
    LoadCallback load;
    UnloadCallback unload;
  };

  std::string who() const { return "worker " + owner_->id() + " (" + owner_->poolLabel() + ")"; }
  Error notReady() const { return unavailable(who() + " is " + toString(owner_->state_) + ", not ready"); }
  void send(const std::vector<std::byte>& frame);
  void signalKill();
  void killFor(std::string reason, bool incompatible);
  void onReadable();
  // Decodes and handles every complete frame buffered; false when `this` was destroyed.
  bool processFrames();
  // After the worker is reaped: whatever it wrote before dying is still in the socket; read it
  // all so a reply or a refusal sent just before exiting is not lost to the pidfd race.
  bool drainChannel();
  void onChannelEvent(short what);
  // Returns false when `this` was destroyed by a callback.
  bool handleFrame(detail::FromWorkerFrame frame);
  bool handleHello(detail::HelloFrame hello);
  void checkExited();
  void onReaped(int waitStatus, bool statusKnown);
  Event makeTimer(event_callback_fn fn) { return Event::timer(base_, fn, this); }

  static void readCb(bufferevent*, void* self) { static_cast<Impl*>(self)->onReadable(); }
  static void eventCb(bufferevent*, short what, void* self) { static_cast<Impl*>(self)->onChannelEvent(what); }
  static void pidfdCb(evutil_socket_t, short, void* self) { static_cast<Impl*>(self)->checkExited(); }
  static void handshakeTimeoutCb(evutil_socket_t, short, void* self);
  static void stopTimeoutCb(evutil_socket_t, short, void* self);
  static void channelClosedCb(evutil_socket_t, short, void* self);
  static void sigchldCb(evutil_socket_t, short, void*);
  void registerSigchld();
  void unregisterSigchld();

  WorkerProcess* owner_;
  event_base* base_;
  WorkerEvents events_;
  bufferevent* channel_ = nullptr;
  transport::StreamFrameDecoder decoder_{transport::kMaxControlFrame};
  int pidfd_ = -1;
  Event pidEvent_;
  Event handshakeTimer_;
  Event stopTimer_;
  Event channelClosedTimer_;
  Event sigchldKick_;  // fallback mode: one check right after registration
  bool usesSigchld_ = false;

  std::uint64_t nextId_ = 1;
  std::map<std::uint64_t, Pending> pending_;
  std::string killReason_;  // why we killed it; replaces "killed by signal 9" in the exit reason
  std::chrono::milliseconds grace_{0};
  bool graceExpired_ = false;
  bool incompatible_ = false;
  bool requested_ = false;
  bool helloSeen_ = false;
  bool reaped_ = false;
  // Set to false by the destructor; callbacks check a copy to know whether `this` survived.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

  // SIGCHLD fallback: every process of the main loop that has no pidfd.
  static std::map<pid_t, Impl*>& sigchldRegistry() {
    static std::map<pid_t, Impl*> r;
    return r;
  }
  // Shared by every Impl of the main loop and freed by the last one to unregister. A raw event,
  // not an Event: a static owner would free it after the loop's base is gone, at exit.
  static inline event* sigchldEvent_ = nullptr;
};

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

// --- control channel ---

void WorkerProcess::Impl::send(const std::vector<std::byte>& frame) {
  if (channel_ != nullptr) bufferevent_write(channel_, frame.data(), frame.size());
}

void WorkerProcess::Impl::loadModel(const ModelLoadSpec& spec, LoadCallback done) {
  if (owner_->state_ != WorkerState::ready) {
    done(notReady());
    return;
  }
  const std::uint64_t id = nextId_++;
  pending_[id].load = std::move(done);
  send(detail::encodeLoadModel(id, spec));
}

void WorkerProcess::Impl::unloadModel(std::uint32_t handle, UnloadCallback done) {
  if (owner_->state_ != WorkerState::ready) {
    done(notReady());
    return;
  }
  const std::uint64_t id = nextId_++;
  pending_[id].unload = std::move(done);
  send(detail::encodeUnloadModel(id, handle));
}

void WorkerProcess::Impl::onReadable() {
  evbuffer* in = bufferevent_get_input(channel_);
  std::byte chunk[16384];
  for (;;) {
    const int n = evbuffer_remove(in, chunk, sizeof chunk);
    if (n <= 0) break;
    decoder_.feed(std::span<const std::byte>(chunk, static_cast<std::size_t>(n)));
  }
  processFrames();
}

bool WorkerProcess::Impl::drainChannel() {
  if (channel_ == nullptr || !killReason_.empty()) return true;
  evbuffer* in = bufferevent_get_input(channel_);
  std::byte chunk[16384];
  for (;;) {
    const int n = evbuffer_remove(in, chunk, sizeof chunk);
    if (n <= 0) break;
    decoder_.feed(std::span<const std::byte>(chunk, static_cast<std::size_t>(n)));
  }
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
