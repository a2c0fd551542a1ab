#pragma once
// Internal to WorkerProcess (worker_process.hpp): its Impl, shared by worker_process.cpp
// (spawning, SIGCHLD fallback, stopping, the exit) and worker_channel.cpp (the control channel:
// requests, replies, the handshake). Main loop only, like WorkerProcess.
#include "supervisor/process/worker_process.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
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

namespace worker_process_detail {

// Raw syscalls: glibc 2.36's <sys/pidfd.h> lacks extern "C", and older libcs lack the wrappers.
inline int openPidfd(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }
inline int sendSignal(int pidfd, int sig) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

// How long a worker that closed its control channel may keep running before it is killed: long
// enough that an exiting worker's pidfd wins the race and its real exit status is reported.
constexpr std::chrono::milliseconds kChannelClosedGrace{2000};

inline timeval toTimeval(std::chrono::milliseconds d) {
  const auto ms = d.count() < 0 ? 0 : d.count();
  return timeval{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
}

}  // namespace worker_process_detail

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
  // Sends a request once the worker is ready (else answers `pending` with notReady() at once);
  // `encode(id)` frames it under the id its reply will carry.
  template <class Encode>
  void request(Pending pending, Encode encode);
  void feedBuffered();  // the channel's input evbuffer into the frame decoder
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

}  // namespace ringserve::supervisor
