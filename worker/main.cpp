// ringserve-worker: maps the segment the supervisor created, proves its versions in the hello,
// then serves inference on one thread and the control channel on the main thread until shutdown.
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <thread>

#include <capnp/message.h>

#include "schema/version.hpp"
#include "transport/endpoint.hpp"
#include "transport/frame.hpp"
#include "transport/segment.hpp"
#include "worker/control_loop.hpp"
#include "worker/infer_loop.hpp"
#include "worker/log.hpp"
#include "worker/options.hpp"
#include "worker.capnp.h"

namespace rs = ringserve;
namespace rw = ringserve::worker;

namespace {

void sendHello(int fd, const std::string& refusal) {
  capnp::MallocMessageBuilder b;
  auto root = b.initRoot<rs::schema::FromWorker>();
  root.setId(0);
  auto h = root.initHello();
  h.setProtocolMajor(rs::kProtocolMajor);
  h.setProtocolMinor(rs::kProtocolMinor);
  h.setShmLayoutVersion(rs::kShmLayoutVersion);
  h.setSchemaId(rs::kWorkerSchemaId);
  h.setWorkerVersion(rs::buildVersion());
  h.setPid(static_cast<std::uint32_t>(::getpid()));
  h.setSdkAbiMajor(rs::kSdkAbiMajor);
  h.setSdkAbiMinor(rs::kSdkAbiMinor);
  h.setRefusal(capnp::Text::Reader(refusal.data(), refusal.size()));
  if (auto s = rs::transport::writeStreamFrame(fd, b); !s)
    rw::logError("", "cannot send the hello: {}", s.error().message);
}

int refuse(int controlFd, const std::string& why) {
  rw::logError("", "refusing to start: {}", why);
  sendHello(controlFd, why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  auto parsed = rw::parseOptions(argc, argv);
  if (std::holds_alternative<int>(parsed)) return std::get<int>(parsed);
  const rw::Options opt = std::get<rw::Options>(parsed);
  rw::initLogging(opt.workerId, opt.logLevel, opt.jsonLogs);

  // Die with the supervisor. It may have died before prctl took effect (we were re-parented
  // already): then the parent changed meanwhile or the segment's creator no longer exists.
  // (A parent pid of 1 alone proves nothing: in a container the supervisor may be pid 1.)
  const pid_t parentAtStart = ::getppid();
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  ::signal(SIGPIPE, SIG_IGN);

  auto segment = rs::transport::Segment::open(opt.shmFd);
  if (!segment) return refuse(opt.controlFd, "cannot use the shared-memory segment: " + segment.error().message);
  const auto creator = static_cast<pid_t>(segment->header().creator_pid);
  if (::getppid() != parentAtStart || (::kill(creator, 0) != 0 && errno == ESRCH)) {
    rw::logError("", "the supervisor (pid {}) is gone; exiting", creator);
    return 1;
  }
  if (const auto lanes = segment->header().lane_count; lanes != opt.laneFds.size())
    return refuse(opt.controlFd, "the segment has " + std::to_string(lanes) + " lanes but " +
                                     std::to_string(opt.laneFds.size()) + " lane eventfds were passed");
  std::atomic_ref(segment->header().worker_pid).store(static_cast<std::uint32_t>(::getpid()), std::memory_order_relaxed);
  sendHello(opt.controlFd, "");
  rw::logInfo("", "started: protocol {}, shm layout {}, SDK ABI {}.{}, {} lane(s)", rs::toString(rs::kProtocolVersion),
              rs::kShmLayoutVersion, rs::kSdkAbiMajor, rs::kSdkAbiMinor, opt.laneFds.size());

  rs::transport::WorkerEndpoint endpoint(segment.value(), opt.laneFds);
  rw::ModelTable models;
  rw::MetricStore metrics;
  rw::InferLoop infer(endpoint, models, opt.workerId, opt.spinUs * 1000);
  std::atomic<bool> stop{false};
  std::thread inference([&] {
    if (!infer.run(stop)) {
      rw::logError("", "exiting: the supervisor corrupted a request ring");
      spdlog::default_logger()->flush();
      ::_exit(3);
    }
  });

  std::string reason;
  {
    rw::ControlLoop control(opt.controlFd, models, metrics, infer, opt.heartbeatMs);
    control.run(reason);
  }  // every load/unload job has finished
  rw::logInfo("", "stopping: {}", reason);
  stop.store(true, std::memory_order_release);
  endpoint.interrupt();
  inference.join();
  for (auto& m : models.takeAll()) {
    std::lock_guard busy(m->busy());
    try {
      m->unload();
    } catch (const std::exception& e) {
      rw::logWarn(m->label(), "{}", e.what());
    }
  }
  rw::logInfo("", "stopped after serving {} request(s)", infer.served());
  return 0;
}
