#include "clients/loadgen/bench_run.hpp"

#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <limits>
#include <memory>
#include <thread>

#include "clients/loadgen/connection.hpp"
#include "clients/loadgen/error.hpp"

namespace ringserve::loadgen {

std::uint64_t monotonicNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::uint64_t(ts.tv_sec) * 1'000'000'000ULL + std::uint64_t(ts.tv_nsec);
}

std::uint64_t RunResult::errors() const {
  std::uint64_t n = 0;
  for (const auto& [k, v] : httpErrors) n += v;
  for (const auto& [k, v] : otherErrors) n += v;
  return n;
}

namespace {

constexpr std::uint64_t kNever = std::numeric_limits<std::uint64_t>::max();
constexpr std::uint64_t kTimerTag = std::numeric_limits<std::uint64_t>::max();
constexpr std::uint64_t kSecond = 1'000'000'000ULL;

struct ThreadPlan {
  unsigned connections = 1;
  unsigned concurrency = 1;
  double interval = 0;         // open loop: ns between this thread's sends
  std::uint64_t firstDue = 0;  // open loop: first scheduled send
  std::uint64_t quota = 0;     // measured requests for this thread (0 = unlimited)
};

class BenchThread final : public LoadThread {
 public:
  BenchThread(const RunSpec& spec, const ThreadPlan& plan, std::uint64_t runStart, LiveCounters& live)
      : spec_(spec), plan_(plan), live_(live), runStart_(runStart) {
    measureStart_ = runStart + std::uint64_t(spec.warmupS * 1e9);
    stopAt_ = spec.requests ? kNever : measureStart_ + std::uint64_t(spec.durationS * 1e9);
    timeoutNs_ = std::uint64_t(spec.timeoutS * 1e9);
    openLoop_ = spec.rate > 0;
    nextDue_ = plan.firstDue;
    const std::size_t seconds = spec.requests ? 16 : std::size_t(spec.durationS) + 2;
    result_.timeline.reserve(seconds);
  }

  void run() override;
  RunResult& result() override { return result_; }
  std::uint64_t firstMeasuredNs() const { return measureStart_; }
  std::uint64_t lastCompletionNs() const override { return lastCompletion_; }

 private:
  struct Slot {
    std::unique_ptr<Connection> conn;
    std::uint64_t retryAt = 0;  // after a transport failure, wait before reconnecting
    std::uint64_t backoff = 0;
    unsigned depth = 0;  // closed loop: requests to keep in flight here
    bool registered = false;
    bool wantOut = false;
  };

  bool mayIssue(std::uint64_t startNs) const {
    if (startNs >= stopAt_) return false;
    return plan_.quota == 0 || startNs < measureStart_ || issued_ < plan_.quota;
  }
  void noteIssued(std::uint64_t startNs) {
    if (startNs >= measureStart_) {
      ++issued_;
      ++result_.sent;
    }
  }
  bool send(std::size_t i, std::uint64_t startNs, std::uint64_t now);
  void updateInterest(std::size_t i);
  void afterIo(std::size_t i, bool alive, std::uint64_t now);
  void record(const Exchange& e, std::uint64_t now);
  void topUp(std::size_t i, std::uint64_t now);
  void onTimer(std::uint64_t now);
  void dispatchBacklog(std::uint64_t now);
  void armTimer();
  bool finished() const;
  void expire(std::uint64_t now);

  const RunSpec& spec_;
  ThreadPlan plan_;
  LiveCounters& live_;
  std::uint64_t runStart_;
  std::uint64_t measureStart_ = 0;
  std::uint64_t stopAt_ = kNever;
  std::uint64_t timeoutNs_ = 0;
  bool openLoop_ = false;
  std::uint64_t nextDue_ = 0;
  std::uint64_t issued_ = 0;
  std::uint64_t scheduled_ = 0;  // open loop: sends scheduled so far
  std::uint64_t lastCompletion_ = 0;
  std::deque<std::uint64_t> backlog_;  // open loop: scheduled sends waiting for a free connection
  std::vector<Slot> slots_;
  std::vector<Exchange> done_;
  transport::UniqueFd epoll_;
  transport::UniqueFd timer_;
  RunResult result_;
};

void BenchThread::updateInterest(std::size_t i) {
  Slot& s = slots_[i];
  if (!s.conn->isOpen()) {
    s.registered = false;  // closing the fd removed it from the epoll set
    return;
  }
  const bool want = s.conn->wantsWrite();
  if (s.registered && want == s.wantOut) return;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP | (want ? EPOLLOUT : 0u);
  ev.data.u64 = i;
  if (epoll_ctl(epoll_.get(), s.registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s.conn->fd(), &ev) != 0)
    throw LoadgenError(std::string("epoll_ctl: ") + std::strerror(errno));
  s.registered = true;
  s.wantOut = want;
}

// Starts one request on slot i (reconnecting if needed). False if it failed at once (recorded).
bool BenchThread::send(std::size_t i, std::uint64_t startNs, std::uint64_t now) {
  Slot& s = slots_[i];
  noteIssued(startNs);
  if (!s.conn->isOpen()) {
    std::string error;
    if (!s.conn->open(&error)) {
      Exchange e;
      e.startNs = startNs;
      e.error = error;
      record(e, now);
      s.backoff = std::clamp<std::uint64_t>(s.backoff * 2, 10'000'000, kSecond);
      s.retryAt = now + s.backoff;
      return false;
    }
  }
  s.conn->send(spec_.request, 0, startNs);
  const bool alive = s.conn->flush(done_);
  afterIo(i, alive, now);
  return alive;
}

void BenchThread::record(const Exchange& e, std::uint64_t now) {
  if (e.startNs < measureStart_) return;  // warm-up
  const std::size_t idx = now > measureStart_ ? std::size_t((now - measureStart_) / kSecond) : 0;
  if (result_.timeline.size() <= idx) result_.timeline.resize(idx + 1);
  Interval& iv = result_.timeline[idx];
  lastCompletion_ = std::max(lastCompletion_, now);
  if (e.status >= 200 && e.status < 300) {
    const std::uint64_t lat = now > e.startNs ? now - e.startNs : 0;
    ++result_.ok;
    result_.latency.record(lat);
    ++iv.ok;
    iv.latency.record(lat);
    live_.ok.store(result_.ok, std::memory_order_relaxed);
    return;
  }
  if (e.status > 0)
    ++result_.httpErrors[e.status];
  else
    ++result_.otherErrors[e.error];
  ++iv.errors;
  live_.errors.store(result_.errors(), std::memory_order_relaxed);
}

// Records what finished on slot i and keeps its epoll interest right.
void BenchThread::afterIo(std::size_t i, bool alive, std::uint64_t now) {
  Slot& s = slots_[i];
  bool transportError = false;
  for (const Exchange& e : done_) {
    transportError |= e.status == 0;
    record(e, now);
  }
  done_.clear();
  if (!alive && transportError) {
    s.backoff = std::clamp<std::uint64_t>(s.backoff * 2, 10'000'000, kSecond);
    s.retryAt = now + s.backoff;
  } else if (alive) {
    s.backoff = 0;
  }
  updateInterest(i);
}

void BenchThread::topUp(std::size_t i, std::uint64_t now) {
  Slot& s = slots_[i];
  while (s.conn->inFlight() < s.depth && now >= s.retryAt && mayIssue(now)) {
    if (!send(i, now, now)) break;
  }
}

void BenchThread::armTimer() {
  itimerspec its{};
  if (nextDue_ != kNever && mayIssue(nextDue_)) {
    its.it_value.tv_sec = time_t(nextDue_ / kSecond);
    its.it_value.tv_nsec = long(nextDue_ % kSecond);
  }
  timerfd_settime(timer_.get(), TFD_TIMER_ABSTIME, &its, nullptr);
}

void BenchThread::onTimer(std::uint64_t now) {
  std::uint64_t expirations = 0;
  [[maybe_unused]] const ssize_t r = ::read(timer_.get(), &expirations, sizeof expirations);
  while (nextDue_ <= now && mayIssue(nextDue_)) {
    backlog_.push_back(nextDue_);
    noteIssued(nextDue_);
    nextDue_ = plan_.firstDue + std::uint64_t(double(++scheduled_) * plan_.interval);
  }
  dispatchBacklog(now);
  armTimer();
}

void BenchThread::dispatchBacklog(std::uint64_t now) {
  for (std::size_t i = 0; i < slots_.size() && !backlog_.empty(); ++i) {
    Slot& s = slots_[i];
    if (s.conn->inFlight() != 0 || now < s.retryAt) continue;
    const std::uint64_t due = backlog_.front();
    backlog_.pop_front();
    // already counted when scheduled
    if (due >= measureStart_) {
      --issued_;
      --result_.sent;
    }
    send(i, due, now);
  }
}

bool BenchThread::finished() const {
  if (!backlog_.empty()) return false;
  for (const Slot& s : slots_)
    if (s.conn->inFlight() != 0) return false;
  if (openLoop_) return nextDue_ == kNever || !mayIssue(nextDue_);
  const std::uint64_t now = monotonicNs();
  return !mayIssue(now);
}

// Per-request timeouts, and the end of the drain after the measured phase.
void BenchThread::expire(std::uint64_t now) {
  const bool drainOver = stopAt_ != kNever && now > stopAt_ + timeoutNs_;
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    Slot& s = slots_[i];
    const std::uint64_t oldest = s.conn->oldestStartNs();
    if (s.conn->inFlight() == 0 || (!drainOver && now - oldest < timeoutNs_)) continue;
    s.conn->fail("timeout", done_);
    afterIo(i, false, now);
  }
  if (drainOver || (stopAt_ == kNever && !backlog_.empty() && now - backlog_.front() > timeoutNs_)) {
    for (const std::uint64_t due : backlog_) {
      Exchange e;
      e.startNs = due;
      e.error = "not sent: every connection busy";
      record(e, now);
    }
    backlog_.clear();
  }
}

void BenchThread::run() {
  epoll_.reset(epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_) throw LoadgenError(std::string("epoll_create1: ") + std::strerror(errno));
  slots_.resize(plan_.connections);
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    slots_[i].conn = std::make_unique<Connection>(*spec_.endpoint, false);
    slots_[i].depth = plan_.concurrency / plan_.connections + (i < plan_.concurrency % plan_.connections ? 1 : 0);
  }
  if (openLoop_) {
    timer_.reset(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
    if (!timer_) throw LoadgenError(std::string("timerfd_create: ") + std::strerror(errno));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kTimerTag;
    epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, timer_.get(), &ev);
    armTimer();
  } else {
    // All threads start at runStart_: a request sent earlier would count as warm-up even with
    // --warmup 0 and escape the --requests quota.
    const timespec at{time_t(runStart_ / kSecond), long(runStart_ % kSecond)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, nullptr) == EINTR) {
    }
    const std::uint64_t now = std::max(monotonicNs(), runStart_);
    for (std::size_t i = 0; i < slots_.size(); ++i) topUp(i, now);
  }
  epoll_event events[64];
  std::uint64_t lastExpire = 0;
  while (!finished()) {
    int waitMs = 50;
    const std::uint64_t before = monotonicNs();
    for (const Slot& s : slots_)
      if (s.retryAt > before) waitMs = std::min<int>(waitMs, int((s.retryAt - before) / 1'000'000) + 1);
    if (!openLoop_ && stopAt_ != kNever && stopAt_ > before)
      waitMs = std::min<int>(waitMs, int((stopAt_ - before) / 1'000'000) + 1);
    const int n = epoll_wait(epoll_.get(), events, 64, waitMs);
    if (n < 0 && errno != EINTR) throw LoadgenError(std::string("epoll_wait: ") + std::strerror(errno));
    const std::uint64_t now = monotonicNs();
    for (int k = 0; k < n; ++k) {
      if (events[k].data.u64 == kTimerTag) {
        onTimer(now);
        continue;
      }
      const auto i = std::size_t(events[k].data.u64);
      Slot& s = slots_[i];
      if (!s.conn->isOpen()) continue;
      bool alive = true;
      if (events[k].events & (EPOLLOUT | EPOLLERR)) alive = s.conn->flush(done_);
      if (alive && (events[k].events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP | EPOLLERR))) alive = s.conn->onReadable(done_);
      afterIo(i, alive, now);
      if (openLoop_) {
        if (s.conn->inFlight() == 0) dispatchBacklog(now);
      } else {
        topUp(i, now);
      }
    }
    if (now - lastExpire > 10'000'000) {
      lastExpire = now;
      expire(now);
      if (openLoop_)
        dispatchBacklog(now);
      else
        for (std::size_t i = 0; i < slots_.size(); ++i)
          if (slots_[i].conn->inFlight() < slots_[i].depth && slots_[i].retryAt <= now) topUp(i, now);
    }
  }
  for (const Slot& s : slots_) result_.bytesIn += s.conn->bytesReceived();
}

}  // namespace

RunResult runBench(const RunSpec& spec, const std::function<void(double, std::uint64_t, std::uint64_t)>& progress) {
  const unsigned threads = std::max(1u, std::min({spec.threads, spec.connections, spec.concurrency}));
  std::vector<LiveCounters> live(threads);
  std::vector<std::unique_ptr<LoadThread>> workers;
  const std::uint64_t runStart = monotonicNs() + 2'000'000;  // threads start together
  for (unsigned t = 0; t < threads; ++t) {
    ThreadPlan plan;
    plan.connections = spec.connections / threads + (t < spec.connections % threads ? 1 : 0);
    plan.concurrency = spec.concurrency / threads + (t < spec.concurrency % threads ? 1 : 0);
    plan.concurrency = std::max(plan.concurrency, 1u);
    if (spec.rate > 0) {
      plan.interval = 1e9 * double(threads) / spec.rate;
      plan.firstDue = runStart + std::uint64_t(1e9 * double(t) / spec.rate);
    }
    if (spec.requests) plan.quota = spec.requests / threads + (t < spec.requests % threads ? 1 : 0);
    workers.push_back(std::make_unique<BenchThread>(spec, plan, runStart, live[t]));
  }
  return runLoadThreads(workers, live, runStart, runStart + std::uint64_t(spec.warmupS * 1e9), progress);
}

RunResult runLoadThreads(const std::vector<std::unique_ptr<LoadThread>>& workers, const std::vector<LiveCounters>& live,
                         std::uint64_t runStart, std::uint64_t measureStart, const ProgressFn& progress) {
  const std::size_t threads = workers.size();
  std::vector<std::exception_ptr> failures(threads);
  std::atomic<std::size_t> running{threads};
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      try {
        workers[t]->run();
      } catch (...) {
        failures[t] = std::current_exception();
      }
      running.fetch_sub(1);
    });
  std::uint64_t nextReport = runStart + kSecond;
  while (running.load() > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const std::uint64_t now = monotonicNs();
    if (progress && now >= nextReport) {
      nextReport += kSecond;
      std::uint64_t ok = 0;
      std::uint64_t errors = 0;
      for (const LiveCounters& c : live) {
        ok += c.ok.load(std::memory_order_relaxed);
        errors += c.errors.load(std::memory_order_relaxed);
      }
      progress((double(now) - double(measureStart)) / 1e9, ok, errors);
    }
  }
  for (std::thread& th : pool) th.join();
  for (const auto& f : failures)
    if (f) std::rethrow_exception(f);

  RunResult total;
  std::uint64_t last = measureStart;
  for (const auto& w : workers) {
    RunResult& r = w->result();
    total.sent += r.sent;
    total.ok += r.ok;
    total.bytesIn += r.bytesIn;
    for (const auto& [k, v] : r.httpErrors) total.httpErrors[k] += v;
    for (const auto& [k, v] : r.otherErrors) total.otherErrors[k] += v;
    total.latency.merge(r.latency);
    if (total.timeline.size() < r.timeline.size()) total.timeline.resize(r.timeline.size());
    for (std::size_t i = 0; i < r.timeline.size(); ++i) {
      total.timeline[i].ok += r.timeline[i].ok;
      total.timeline[i].errors += r.timeline[i].errors;
      total.timeline[i].latency.merge(r.timeline[i].latency);
    }
    last = std::max(last, w->lastCompletionNs());
  }
  total.elapsedS = double(last - measureStart) / 1e9;
  return total;
}

}  // namespace ringserve::loadgen
