#include "harness.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <capnp/message.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "transport/wake.hpp"

namespace ringserve::testing {

namespace {

constexpr int kWaitMs = 60000;  // upper bound for anything to arrive: a hang fails, not blocks

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error("worker harness: " + what); }

capnp::Text::Reader text(const std::string& s) { return {s.data(), s.size()}; }

}  // namespace

std::string workerBinaryPath() { return RINGSERVE_TEST_WORKER_BINARY; }
std::string testRuntimeDir() { return RINGSERVE_TEST_RUNTIME_DIR; }
std::string builtinRuntimeDir() { return RINGSERVE_TEST_BUILTIN_RUNTIME_DIR; }

std::vector<std::byte> bytesPayload(const std::vector<std::string>& elements) {
  std::vector<std::byte> out;
  for (const auto& e : elements) {
    const auto len = static_cast<std::uint32_t>(e.size());
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::byte>((len >> (8 * i)) & 0xff));
    for (const char c : e) out.push_back(static_cast<std::byte>(c));
  }
  return out;
}

const TensorData* InferOutcome::output(const std::string& name) const {
  for (const auto& o : outputs)
    if (o.name == name) return &o;
  return nullptr;
}

WorkerHarness::WorkerHarness(HarnessOptions options) : options_(std::move(options)) {
  if (options_.workerBinary.empty()) options_.workerBinary = workerBinaryPath();
  auto seg = transport::Segment::create(transport::SegmentConfig::fromShmSize(options_.shmSize, options_.lanes), "rs-test");
  if (!seg) fail(seg.error().message);
  segment_ = std::move(seg.value());
  requestBlocks_.resize(options_.lanes);
  for (std::uint32_t k = 0; k < options_.lanes; ++k) {
    eventFds_.push_back(transport::makeEventFd());
    lanes_.push_back(std::make_unique<transport::SupervisorLane>(segment_, k, eventFds_.back()));
  }
  if (options_.corruptMagic) segment_.header().magic ^= 0xff;

  int sv[2];
  if (::socketpair(AF_UNIX, (options_.seqpacket ? SOCK_SEQPACKET : SOCK_STREAM) | SOCK_CLOEXEC, 0, sv) != 0)
    fail("socketpair failed");
  controlFd_ = sv[0];

  std::string laneFds;
  for (const int fd : eventFds_) laneFds += (laneFds.empty() ? "" : ",") + std::to_string(fd);
  std::vector<std::string> args = {options_.workerBinary, "--shm-fd", std::to_string(segment_.fd()), "--control-fd",
                                   std::to_string(sv[1]), "--lane-fds", laneFds, "--worker-id", "test/0",
                                   "--heartbeat-ms", std::to_string(options_.heartbeatMs), "--spin-us", std::to_string(options_.spinUs)};
  args.insert(args.end(), options_.extraArgs.begin(), options_.extraArgs.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  pid_ = ::fork();
  if (pid_ < 0) fail("fork failed");
  if (pid_ == 0) {
    // Only async-signal-safe calls between fork and exec.
    for (const int fd : eventFds_) {
      const int f = ::fcntl(fd, F_GETFD);
      ::fcntl(fd, F_SETFD, f & ~FD_CLOEXEC);
    }
    for (const int fd : {segment_.fd(), sv[1]}) {
      const int f = ::fcntl(fd, F_GETFD);
      ::fcntl(fd, F_SETFD, f & ~FD_CLOEXEC);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(sv[1]);

  helloFrame_ = readFrame(kWaitMs);
  if (!helloFrame_) fail("no hello from the worker (" + describe(waitExit()) + ")");
  auto root = helloFrame_->root<schema::FromWorker>();
  if (!root || !root.value().isHello()) fail("the worker's first frame is not a hello");
  hello_ = root.value().getHello();
}

WorkerHarness::~WorkerHarness() {
  if (pid_ > 0 && !reaped_) {
    ::kill(pid_, SIGKILL);
    int st = 0;
    ::waitpid(pid_, &st, 0);
  }
  if (controlFd_ >= 0) ::close(controlFd_);
  lanes_.clear();
  for (const int fd : eventFds_) ::close(fd);
}

std::optional<transport::OwnedFrame> WorkerHarness::readFrame(int timeoutMs) {
  for (;;) {
    auto next = decoder_.next();
    if (!next) fail("bad control frame: " + next.error().message);
    if (next.value()) {
      auto f = transport::OwnedFrame::parse(std::move(*next.value()));
      if (!f) fail("unparsable control frame: " + f.error().message);
      return std::move(f.value());
    }
    pollfd p{controlFd_, POLLIN, 0};
    const int r = ::poll(&p, 1, timeoutMs);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return std::nullopt;
    std::vector<std::byte> buf(transport::kMaxControlFrame + 4);
    const ssize_t n = ::recv(controlFd_, buf.data(), buf.size(), 0);
    if (n <= 0) return std::nullopt;
    decoder_.feed({buf.data(), static_cast<std::size_t>(n)});
  }
}

std::optional<transport::OwnedFrame> WorkerHarness::awaitReply(std::uint64_t id) {
  for (auto it = stash_.begin(); it != stash_.end(); ++it) {
    auto root = it->root<schema::FromWorker>();
    if (root && root.value().getId() == id) {
      auto f = std::move(*it);
      stash_.erase(it);
      return f;
    }
  }
  for (;;) {
    auto f = readFrame(kWaitMs);
    if (!f) return std::nullopt;
    auto root = f->root<schema::FromWorker>();
    if (!root) fail("malformed FromWorker");
    if (root.value().getId() == id) return f;
    if (root.value().getId() != 0) stash_.push_back(std::move(*f));  // unsolicited heartbeats are dropped
  }
}

std::uint64_t WorkerHarness::sendLoad(const ModelArgs& m) {
  capnp::MallocMessageBuilder b;
  auto root = b.initRoot<schema::ToWorker>();
  const std::uint64_t id = nextId_++;
  root.setId(id);
  auto spec = root.initLoadModel();
  spec.setHandle(m.handle);
  spec.setName(text(m.name));
  spec.setVersion(text(m.version));
  spec.setImplementation(text(m.implementation));
  spec.setSettingsJson(text(m.settingsJson));
  spec.setModelDir(text(m.modelDir));
  std::vector<std::string> path = m.searchPath;
  if (path.empty()) path = {testRuntimeDir(), builtinRuntimeDir()};
  auto list = spec.initRuntimeSearchPath(static_cast<unsigned>(path.size()));
  for (unsigned i = 0; i < path.size(); ++i) list.set(i, text(path[i]));
  if (!transport::writeStreamFrame(controlFd_, b)) fail("control channel closed");
  return id;
}

std::uint64_t WorkerHarness::sendUnload(std::uint32_t handle) {
  capnp::MallocMessageBuilder b;
  auto root = b.initRoot<schema::ToWorker>();
  const std::uint64_t id = nextId_++;
  root.setId(id);
  root.setUnloadModel(handle);
  if (!transport::writeStreamFrame(controlFd_, b)) fail("control channel closed");
  return id;
}

std::uint64_t WorkerHarness::sendHeartbeat() {
  capnp::MallocMessageBuilder b;
  auto root = b.initRoot<schema::ToWorker>();
  const std::uint64_t id = nextId_++;
  root.setId(id);
  root.setHeartbeat();
  if (!transport::writeStreamFrame(controlFd_, b)) fail("control channel closed");
  return id;
}

void WorkerHarness::sendShutdown() {
  capnp::MallocMessageBuilder b;
  auto root = b.initRoot<schema::ToWorker>();
  root.setId(0);
  root.setShutdown();
  if (!transport::writeStreamFrame(controlFd_, b)) fail("control channel closed");
}

void WorkerHarness::closeControl() {
  if (controlFd_ >= 0) ::close(controlFd_);
  controlFd_ = -1;
}

ControlOutcome WorkerHarness::outcomeOf(transport::OwnedFrame& frame) {
  ControlOutcome out;
  auto root = frame.root<schema::FromWorker>().value();
  if (root.isError()) {
    out.code = root.getError().getCode();
    out.message = root.getError().getMessage().cStr();
    return out;
  }
  out.ok = true;
  if (root.isLoaded()) {
    for (auto t : root.getLoaded().getInputs()) out.inputNames.emplace_back(t.getName().cStr());
    for (auto t : root.getLoaded().getOutputs()) out.outputNames.emplace_back(t.getName().cStr());
  }
  return out;
}

ControlOutcome WorkerHarness::load(const ModelArgs& m) {
  auto f = awaitReply(sendLoad(m));
  if (!f) fail("no reply to loadModel (" + describe(waitExit()) + ")");
  return outcomeOf(*f);
}

ControlOutcome WorkerHarness::unload(std::uint32_t handle) {
  auto f = awaitReply(sendUnload(handle));
  if (!f) fail("no reply to unloadModel");
  return outcomeOf(*f);
}

std::uint64_t WorkerHarness::post(std::uint32_t handle, const std::vector<TensorData>& inputs,
                                  const std::string& parametersJson, const std::vector<std::string>& requestedOutputs,
                                  std::uint32_t laneIndex, std::string id) {
  auto& lane = *lanes_.at(laneIndex);
  std::vector<std::uint64_t> blocks;
  capnp::MallocMessageBuilder b;
  auto req = b.initRoot<schema::InferRequest>();
  req.setModelHandle(handle);
  req.setId(text(id));
  req.setParametersJson(text(parametersJson));
  auto list = req.initInputs(static_cast<unsigned>(inputs.size()));
  for (unsigned i = 0; i < inputs.size(); ++i) {
    const auto& in = inputs[i];
    auto block = lane.allocate(in.data.size());
    if (!block) fail(block.error().message);
    blocks.push_back(block.value());
    if (!in.data.empty()) std::memcpy(lane.at(block.value()), in.data.data(), in.data.size());
    auto t = list[i];
    t.setName(text(in.name));
    t.setDatatype(in.datatype);
    auto shape = t.initShape(static_cast<unsigned>(in.shape.size()));
    for (unsigned k = 0; k < in.shape.size(); ++k) shape.set(k, in.shape[k]);
    t.setOffset(block.value());
    t.setSize(in.data.size());
    t.setParametersJson(text(in.parametersJson));
  }
  lastInputOffsets_ = blocks;
  auto outs = req.initOutputs(static_cast<unsigned>(requestedOutputs.size()));
  for (unsigned i = 0; i < requestedOutputs.size(); ++i) outs[i].setName(text(requestedOutputs[i]));
  const std::uint64_t size = transport::frameSize(b);
  auto frame = lane.allocate(size);
  if (!frame) fail(frame.error().message);
  blocks.push_back(frame.value());
  transport::writeFrame(b, {lane.at(frame.value()), static_cast<std::size_t>(size)});
  transport::Descriptor d{};
  d.kind = static_cast<std::uint32_t>(transport::DescriptorKind::infer);
  d.tag = nextTag_++;
  d.frame_offset = frame.value();
  d.frame_size = size;
  if (!lane.post(d)) fail("request ring full");
  requestBlocks_[laneIndex].emplace_back(d.tag, std::move(blocks));
  return d.tag;
}

void WorkerHarness::flush(std::uint32_t laneIndex) { lanes_.at(laneIndex)->flush(); }

void WorkerHarness::releaseTag(std::uint64_t tag, std::uint32_t laneIndex) {
  transport::Descriptor d{};
  d.kind = static_cast<std::uint32_t>(transport::DescriptorKind::release);
  d.tag = tag;
  if (!lanes_.at(laneIndex)->post(d)) fail("request ring full");
  lanes_.at(laneIndex)->flush();
}

InferOutcome WorkerHarness::awaitResponse(std::uint32_t laneIndex, bool release, std::uint64_t* tagOut) {
  auto& lane = *lanes_.at(laneIndex);
  transport::Descriptor d{};
  for (;;) {
    auto r = lane.next(d);
    if (!r) fail("response ring corrupt: " + r.error().message);
    if (r.value()) break;
    if (!lane.armWait()) continue;
    pollfd p{lane.eventFd(), POLLIN, 0};
    const int n = ::poll(&p, 1, kWaitMs);
    if (n == 0) fail("no response from the worker");
    if (n > 0) transport::eventFdDrain(lane.eventFd());
  }
  if (tagOut != nullptr) *tagOut = d.tag;
  // The worker has finished with the request: free its blocks.
  auto& pending = requestBlocks_[laneIndex];
  for (auto it = pending.begin(); it != pending.end(); ++it)
    if (it->first == d.tag) {
      for (const auto b : it->second) lane.free(b);
      pending.erase(it);
      break;
    }
  InferOutcome out;
  if (d.error_code != 0) {
    out.descriptorError = d.error_code;
    return out;
  }
  auto bytes = lane.peerView(d.frame_offset, d.frame_size);
  if (!bytes) fail(bytes.error().message);
  auto reader = transport::FrameReader::open(bytes.value());
  if (!reader) fail(reader.error().message);
  auto root = reader->root<schema::InferResponse>();
  if (!root) fail(root.error().message);
  auto resp = root.value();
  if (resp.isError()) {
    out.code = resp.getError().getCode();
    out.message = resp.getError().getMessage().cStr();
  } else {
    out.ok = true;
    auto ok = resp.getOk();
    out.modelName = ok.getModelName().cStr();
    out.modelVersion = ok.getModelVersion().cStr();
    out.id = ok.getId().cStr();
    out.parametersJson = ok.getParametersJson().cStr();
    for (auto t : ok.getOutputs()) {
      TensorData td;
      td.name = t.getName().cStr();
      td.datatype = t.getDatatype();
      for (auto s : t.getShape()) td.shape.push_back(s);
      auto data = lane.peerView(t.getOffset(), t.getSize());
      if (!data) fail(data.error().message);
      td.data.assign(data.value().begin(), data.value().end());
      td.parametersJson = t.getParametersJson().cStr();
      td.offset = t.getOffset();
      out.outputs.push_back(std::move(td));
    }
  }
  if (release) releaseTag(d.tag, laneIndex);
  return out;
}

InferOutcome WorkerHarness::infer(std::uint32_t handle, const std::vector<TensorData>& inputs,
                                  const std::string& parametersJson, const std::vector<std::string>& requestedOutputs,
                                  std::uint32_t laneIndex) {
  post(handle, inputs, parametersJson, requestedOutputs, laneIndex);
  flush(laneIndex);
  return awaitResponse(laneIndex);
}

int WorkerHarness::waitExit() {
  if (reaped_) fail("worker already reaped");
  int st = 0;
  // Bounded: a worker that does not exit is killed, and the status says so.
  for (int i = 0; i < kWaitMs / 10; ++i) {
    const pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      return st;
    }
    ::usleep(10000);
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, &st, 0);
  reaped_ = true;
  return st;
}

std::string WorkerHarness::describe(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return "killed by signal " + std::to_string(WTERMSIG(status)) + " (" + ::strsignal(WTERMSIG(status)) + ")";
  return "status " + std::to_string(status);
}

}  // namespace ringserve::testing
