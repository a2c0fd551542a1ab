#include "worker/control_loop.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

#include "transport/frame.hpp"
#include "worker/error.hpp"
#include "worker/log.hpp"
#include "worker.capnp.h"

namespace ringserve::worker {

namespace {
capnp::Text::Reader text(const std::string& s) { return {s.data(), s.size()}; }
std::string toStd(capnp::Text::Reader t) { return {t.cStr(), t.size()}; }
std::uint64_t nowMs() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}
}  // namespace

std::uint64_t residentBytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long long size = 0, rss = 0;
  const int n = std::fscanf(f, "%llu %llu", &size, &rss);
  std::fclose(f);
  return n == 2 ? rss * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE)) : 0;
}

ControlLoop::~ControlLoop() { reapJobs(true); }

bool ControlLoop::send(capnp::MessageBuilder& message) {
  std::lock_guard lock(sendMu_);
  return static_cast<bool>(transport::writeStreamFrame(fd_, message));
}

void ControlLoop::sendError(std::uint64_t id, int code, const std::string& message) {
  capnp::MallocMessageBuilder b;
  auto root = b.initRoot<schema::FromWorker>();
  root.setId(id);
  auto e = root.initError();
  e.setCode(static_cast<schema::ErrorCode>(code));
  e.setMessage(text(message));
  send(b);
}

void ControlLoop::sendHeartbeat(std::uint64_t id) {
  capnp::MallocMessageBuilder b;
  auto root = b.initRoot<schema::FromWorker>();
  root.setId(id);
  auto hb = root.initHeartbeat();
  hb.setServed(infer_.served());
  hb.setRssBytes(residentBytes());
  const auto snapshot = metrics_.snapshot();
  auto list = hb.initMetrics(static_cast<unsigned>(snapshot.size()));
  for (unsigned i = 0; i < snapshot.size(); ++i) {
    const auto& [key, v] = snapshot[i];
    auto s = list[i];
    s.setModelName(text(std::get<0>(key)));
    s.setModelVersion(text(std::get<1>(key)));
    s.setName(text(std::get<2>(key)));
    s.setHelp(text(v.help));
    s.setKind(v.kind == RINGSERVE_METRIC_GAUGE       ? schema::MetricSample::Kind::GAUGE
              : v.kind == RINGSERVE_METRIC_HISTOGRAM ? schema::MetricSample::Kind::HISTOGRAM
                                                     : schema::MetricSample::Kind::COUNTER);
    s.setValue(v.value);
    s.setCount(v.count);
    auto bounds = s.initBucketBounds(static_cast<unsigned>(v.bounds.size()));
    auto counts = s.initBucketCounts(static_cast<unsigned>(v.buckets.size()));
    for (unsigned k = 0; k < v.bounds.size(); ++k) bounds.set(k, v.bounds[k]);
    for (unsigned k = 0; k < v.buckets.size(); ++k) counts.set(k, v.buckets[k]);
  }
  send(b);
}

void ControlLoop::startJob(std::function<void()> fn) {
  auto job = std::make_unique<Job>();
  Job* raw = job.get();
  job->thread = std::thread([raw, fn = std::move(fn)] {
    fn();
    raw->done.store(true, std::memory_order_release);
  });
  jobs_.push_back(std::move(job));
}

void ControlLoop::reapJobs(bool all) {
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    if (all || (*it)->done.load(std::memory_order_acquire)) {
      (*it)->thread.join();
      it = jobs_.erase(it);
    } else {
      ++it;
    }
  }
}

void ControlLoop::dispatch(schema::ToWorker::Reader msg) {
  const std::uint64_t id = msg.getId();
  switch (msg.which()) {
    case schema::ToWorker::LOAD_MODEL: {
      auto s = msg.getLoadModel();
      ModelSpecData spec;
      spec.handle = s.getHandle();
      spec.name = toStd(s.getName());
      spec.version = toStd(s.getVersion());
      spec.implementation = toStd(s.getImplementation());
      spec.settingsJson = toStd(s.getSettingsJson());
      spec.modelDir = toStd(s.getModelDir());
      for (auto p : s.getRuntimeSearchPath()) spec.runtimeSearchPath.push_back(toStd(p));
      startJob([this, id, spec = std::move(spec)] {
        const std::string label = spec.version.empty() ? spec.name : spec.name + ":" + spec.version;
        try {
          if (models_.find(spec.handle))
            throw WorkerError(schema::ErrorCode::BAD_INPUT, "model handle " + std::to_string(spec.handle) + " is already loaded");
          auto model = LoadedModel::load(spec, metrics_);
          capnp::MallocMessageBuilder b;
          auto root = b.initRoot<schema::FromWorker>();
          root.setId(id);
          auto loaded = root.initLoaded();
          loaded.setHandle(spec.handle);
          auto fill = [](auto list, const std::vector<ReportedTensor>& src) {
            for (unsigned i = 0; i < src.size(); ++i) {
              list[i].setName(text(src[i].name));
              list[i].setDatatype(text(src[i].datatype));
              list[i].setContentType(text(src[i].contentType));
              auto shape = list[i].initShape(static_cast<unsigned>(src[i].shape.size()));
              for (unsigned k = 0; k < src[i].shape.size(); ++k) shape.set(k, src[i].shape[k]);
            }
          };
          fill(loaded.initInputs(static_cast<unsigned>(model->inputs().size())), model->inputs());
          fill(loaded.initOutputs(static_cast<unsigned>(model->outputs().size())), model->outputs());
          const std::string path = model->libraryPath();
          models_.insert(std::move(model));
          logInfo(label, "loaded {} (handle {}) from {}", spec.implementation, spec.handle, path);
          send(b);
        } catch (const WorkerError& e) {
          logError(label, "load failed: {}", e.what());
          sendError(id, static_cast<int>(e.code()), e.what());
        } catch (const std::exception& e) {
          logError(label, "load failed: {}", e.what());
          sendError(id, static_cast<int>(schema::ErrorCode::INTERNAL), e.what());
        }
      });
      break;
    }
    case schema::ToWorker::UNLOAD_MODEL: {
      const std::uint32_t handle = msg.getUnloadModel();
      startJob([this, id, handle] {
        auto model = models_.take(handle);
        if (!model) {
          sendError(id, static_cast<int>(schema::ErrorCode::NOT_FOUND),
                    "model handle " + std::to_string(handle) + " is not loaded in this worker");
          return;
        }
        const std::string label = model->label();
        try {
          std::lock_guard busy(model->busy());
          model->unload();
        } catch (const WorkerError& e) {
          logError(label, "{}", e.what());
          sendError(id, static_cast<int>(e.code()), e.what());
          return;
        }
        logInfo(label, "unloaded (handle {})", handle);
        capnp::MallocMessageBuilder b;
        auto root = b.initRoot<schema::FromWorker>();
        root.setId(id);
        root.setUnloaded(handle);
        send(b);
      });
      break;
    }
    case schema::ToWorker::HEARTBEAT: sendHeartbeat(id); break;
    case schema::ToWorker::SHUTDOWN: shutdown_ = true; break;
    default: sendError(id, static_cast<int>(schema::ErrorCode::INCOMPATIBLE), "unknown control message"); break;
  }
}

void ControlLoop::run(std::string& reason) {
  transport::StreamFrameDecoder decoder(transport::kMaxControlFrame);
  // One receive takes a whole SOCK_SEQPACKET message, so the buffer holds the largest frame.
  std::vector<std::byte> buf(transport::kMaxControlFrame + 4);
  std::uint64_t nextBeat = heartbeatMs_ > 0 ? nowMs() + heartbeatMs_ : 0;
  while (!shutdown_) {
    int timeout = -1;
    if (heartbeatMs_ > 0) {
      const std::uint64_t now = nowMs();
      if (now >= nextBeat) {
        sendHeartbeat(0);
        nextBeat = now + heartbeatMs_;
      }
      timeout = static_cast<int>(std::min<std::uint64_t>(nextBeat - std::min(now, nextBeat), 60000));
    }
    pollfd p{fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, jobs_.empty() ? timeout : (timeout < 0 || timeout > 100 ? 100 : timeout));
    reapJobs(false);
    if (r < 0) {
      if (errno == EINTR) continue;
      reason = std::string("poll on the control channel failed: ") + std::strerror(errno);
      break;
    }
    if (r == 0) continue;
    const ssize_t n = ::recv(fd_, buf.data(), buf.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      reason = std::string("control channel failed: ") + std::strerror(errno);
      break;
    }
    if (n == 0) {
      reason = "control channel closed by the supervisor";
      break;
    }
    decoder.feed({buf.data(), static_cast<std::size_t>(n)});
    for (;;) {
      auto f = decoder.next();
      if (!f) {
        reason = "control channel corrupt: " + f.error().message;
        reapJobs(true);
        return;
      }
      if (!f.value()) break;
      auto frame = transport::OwnedFrame::parse(std::move(*f.value()));
      if (!frame) {
        logWarn("", "ignored a malformed control frame: {}", frame.error().message);
        continue;
      }
      auto root = frame->root<schema::ToWorker>();
      if (!root) {
        logWarn("", "ignored a malformed control frame: {}", root.error().message);
        continue;
      }
      try {
        dispatch(root.value());
      } catch (const kj::Exception& e) {
        logWarn("", "ignored a malformed control frame: {}", e.getDescription().cStr());
      }
    }
  }
  if (shutdown_) reason = "shutdown requested";
  reapJobs(true);
}

}  // namespace ringserve::worker
