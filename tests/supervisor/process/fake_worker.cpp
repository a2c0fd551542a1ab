// A test double for ringserve-worker: speaks the worker command line and control protocol, and can
// be told (--mode) to misbehave in ways the real worker cannot: exit or die before its hello,
// announce another protocol, layout or schema, send garbage, stay silent, ignore shutdown.
// Load requests double as queries about the process it runs in (model name "query:..."), so the
// tests can check what the child inherited (fds, environment, affinity, signal dispositions).
#include <dirent.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "schema/version.hpp"
#include "transport/frame.hpp"
#include "transport/segment.hpp"
#include "worker.capnp.h"

namespace {

using namespace ringserve;

struct Args {
  int shmFd = -1;
  int controlFd = -1;
  std::string laneFds;
  std::string workerId;
  std::string mode = "ok";
  bool sendHeartbeat = false;
};

std::string openFds() {
  std::vector<int> fds;
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return "?";
  const int self = ::dirfd(d);
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    const int fd = std::atoi(e->d_name);
    if (fd != self) fds.push_back(fd);
  }
  ::closedir(d);
  std::sort(fds.begin(), fds.end());
  std::string s;
  for (int fd : fds) s += (s.empty() ? "" : ",") + std::to_string(fd);
  return s;
}

std::string allowedCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return "?";
  std::string s;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) s += (s.empty() ? "" : ",") + std::to_string(c);
  return s;
}

void send(int fd, capnp::MessageBuilder& msg) {
  if (!transport::writeStreamFrame(fd, msg)) ::_exit(5);
}

void sendHello(int fd, const Args& a, const std::string& refusal) {
  capnp::MallocMessageBuilder msg;
  auto root = msg.initRoot<schema::FromWorker>();
  root.setId(0);
  auto h = root.initHello();
  h.setProtocolMajor(a.mode == "protocol2" ? kProtocolMajor + 1 : kProtocolMajor);
  h.setProtocolMinor(a.mode == "untested" ? kProtocolMinor + 1 : kProtocolMinor);
  h.setShmLayoutVersion(a.mode == "layout" ? kShmLayoutVersion + 1 : kShmLayoutVersion);
  h.setSchemaId(a.mode == "schema" ? 0x1234 : kWorkerSchemaId);
  h.setWorkerVersion(std::string("fake-") + buildVersion());
  h.setPid(static_cast<std::uint32_t>(::getpid()));
  h.setSdkAbiMajor(kSdkAbiMajor);
  h.setSdkAbiMinor(kSdkAbiMinor);
  h.setRefusal(refusal);
  send(fd, msg);
}

void sendHeartbeat(int fd, std::uint64_t id) {
  capnp::MallocMessageBuilder msg;
  auto root = msg.initRoot<schema::FromWorker>();
  root.setId(id);
  auto hb = root.initHeartbeat();
  hb.setServed(7);
  hb.setRssBytes(4096);
  auto m = hb.initMetrics(1)[0];
  m.setName("fake_requests");
  m.setHelp("requests seen by the fake");
  m.setKind(schema::MetricSample::Kind::HISTOGRAM);
  m.setModelName("m");
  auto labels = m.initLabels(1);
  labels[0].setName("lane");
  labels[0].setValue("0");
  m.setValue(2.5);
  m.setCount(3);
  auto bounds = m.initBucketBounds(2);
  bounds.set(0, 0.5);
  bounds.set(1, 1.0);
  auto counts = m.initBucketCounts(2);
  counts.set(0, 1);
  counts.set(1, 3);
  send(fd, msg);
}

void replyError(int fd, std::uint64_t id, schema::ErrorCode code, const std::string& message) {
  capnp::MallocMessageBuilder msg;
  auto root = msg.initRoot<schema::FromWorker>();
  root.setId(id);
  auto e = root.initError();
  e.setCode(code);
  e.setMessage(message);
  send(fd, msg);
}

void handleLoad(int fd, std::uint64_t id, schema::ModelSpec::Reader spec, const transport::Segment& seg) {
  const std::string name = spec.getName().cStr();
  if (name == "fail") return replyError(fd, id, schema::ErrorCode::BAD_INPUT, "cannot load model fail");
  if (name == "query:fds") return replyError(fd, id, schema::ErrorCode::INTERNAL, openFds());
  if (name == "query:cpus") return replyError(fd, id, schema::ErrorCode::INTERNAL, allowedCpus());
  if (name == "query:argv") return replyError(fd, id, schema::ErrorCode::INTERNAL, "see --lane-fds");
  if (name == "query:sigpipe") {
    struct sigaction sa {};
    ::sigaction(SIGPIPE, nullptr, &sa);
    return replyError(fd, id, schema::ErrorCode::INTERNAL, sa.sa_handler == SIG_IGN ? "ignored" : "default");
  }
  if (name.rfind("query:env:", 0) == 0) {
    const char* v = std::getenv(name.substr(10).c_str());
    return replyError(fd, id, schema::ErrorCode::INTERNAL, v == nullptr ? "<unset>" : v);
  }
  if (name == "crash") ::raise(SIGKILL);
  if (name == "hang") return;
  if (name == "bump") std::atomic_ref(seg.header().worker_progress).fetch_add(1);

  capnp::MallocMessageBuilder msg;
  auto root = msg.initRoot<schema::FromWorker>();
  root.setId(id);
  auto l = root.initLoaded();
  l.setHandle(spec.getHandle());
  auto in = l.initInputs(1)[0];
  in.setName(name + "_in");
  in.setDatatype("FP32");
  auto shape = in.initShape(2);
  shape.set(0, -1);
  shape.set(1, 4);
  auto out = l.initOutputs(1)[0];
  out.setName(spec.getImplementation());
  out.setDatatype("BYTES");
  send(fd, msg);
}

}  // namespace

int main(int argc, char** argv) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : "";
    if (k == "--shm-fd") a.shmFd = std::atoi(v), ++i;
    else if (k == "--control-fd") a.controlFd = std::atoi(v), ++i;
    else if (k == "--lane-fds") a.laneFds = v, ++i;
    else if (k == "--worker-id") a.workerId = v, ++i;
    else if (k == "--mode") a.mode = v, ++i;
    else if (k == "--send-heartbeat") a.sendHeartbeat = true;
    else if (k == "--log-level" || k == "--spin-us" || k == "--heartbeat-ms") ++i;
  }
  const int fd = a.controlFd;
  if (a.mode == "exit1") return 1;
  if (a.mode == "sigkill") ::raise(SIGKILL);
  if (a.mode == "silent") {
    for (;;) ::pause();
  }
  if (a.mode == "garbage") {
    const char junk[] = "\x10\x00\x00\x00this is not a capnp message";
    [[maybe_unused]] auto n = ::write(fd, junk, sizeof junk - 1);
    for (;;) ::pause();
  }
  auto seg = transport::Segment::open(a.shmFd);
  if (!seg) {
    sendHello(fd, a, seg.error().message);
    return 2;
  }
  if (a.mode == "refuse") {
    sendHello(fd, a, "segment header mismatch (test)");
    return 2;
  }
  if (a.mode == "heartbeat-first") sendHeartbeat(fd, 0);
  sendHello(fd, a, "");
  if (a.mode == "close-channel") {
    ::close(fd);
    for (;;) ::pause();
  }
  if (a.sendHeartbeat) sendHeartbeat(fd, 0);

  for (;;) {
    auto words = transport::readStreamFrame(fd, transport::kMaxControlFrame);
    if (!words) return 3;  // the supervisor hung up
    auto frame = transport::OwnedFrame::parse(std::move(words.value()));
    if (!frame) return 4;
    auto root = frame->root<schema::ToWorker>();
    if (!root) return 4;
    auto m = root.value();
    switch (m.which()) {
      case schema::ToWorker::LOAD_MODEL:
        // More than libevent reads per callback, so the exit is seen while data is still unread.
        if (a.mode == "answer-then-exit")
          for (int i = 0; i < 300; ++i) sendHeartbeat(fd, 0);
        handleLoad(fd, m.getId(), m.getLoadModel(), seg.value());
        if (a.mode == "answer-then-exit") return 0;
        break;
      case schema::ToWorker::UNLOAD_MODEL: {
        capnp::MallocMessageBuilder msg;
        auto r = msg.initRoot<schema::FromWorker>();
        r.setId(m.getId());
        r.setUnloaded(m.getUnloadModel());
        send(fd, msg);
        break;
      }
      case schema::ToWorker::HEARTBEAT: sendHeartbeat(fd, m.getId()); break;
      case schema::ToWorker::SHUTDOWN:
        if (a.mode != "ignore-shutdown") return 0;
        break;
    }
  }
}
