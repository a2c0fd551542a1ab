// transport_echo_peer: the worker side of the cross-process transport tests, run by fork + exec
// with the segment and lane eventfds inherited (the worker's command-line contract, minus the
// control channel). It checks every request against its checksum and answers as echo_protocol.hpp
// describes. Exit status: 0 after a quit request, 2 if the segment is refused, 3 on a transport
// error, 4 on a checksum mismatch.
#include <sys/prctl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <capnp/message.h>
#include <csignal>
#include <cstdio>
#include <map>
#include <sstream>
#include <vector>

#include "echo_protocol.hpp"
#include "transport/endpoint.hpp"
#include "worker.capnp.h"

using namespace ringserve::transport;
namespace echo = ringserve::transport::echo;

namespace {

std::string hex(std::uint64_t v) {
  char b[17];
  std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(v));
  return b;
}

class Peer {
 public:
  explicit Peer(WorkerEndpoint& ep) : ep_(ep) {}

  // 0 to go on, otherwise the exit status.
  int handle(const Descriptor& d, std::uint32_t lane) {
    if (d.kind == static_cast<std::uint32_t>(DescriptorKind::release)) {
      for (std::uint64_t off : held_[{lane, d.tag}]) ep_.arena().free(off);
      held_.erase({lane, d.tag});
      return 0;
    }
    Descriptor r{};
    r.kind = static_cast<std::uint32_t>(DescriptorKind::response);
    r.tag = d.tag;
    r.reserved[0] = d.reserved[0];
    switch (static_cast<echo::Mode>(d.reserved[0])) {
      case echo::Mode::raw:
        if (int rc = raw(d, lane, r); rc != 0) return rc;
        break;
      case echo::Mode::capnp:
        if (int rc = frame(d, lane, r); rc != 0) return rc;
        break;
      case echo::Mode::sync:
        r.reserved[1] = ep_.arena().used();
        break;
      case echo::Mode::quit:
        r.reserved[1] = ep_.arena().used();
        quit_ = true;
        break;
      default:
        std::fprintf(stderr, "transport_echo_peer: unknown mode %llu\n", static_cast<unsigned long long>(d.reserved[0]));
        return 3;
    }
    ep_.respond(lane, r);
    ep_.recordProgress();
    return 0;
  }
  bool quit() const { return quit_; }

 private:
  int raw(const Descriptor& d, std::uint32_t lane, Descriptor& r) {
    const std::uint64_t len = d.reserved[1];
    if (len > d.frame_size) return fail("payload length beyond its block");
    auto in = ep_.peerView(lane, d.frame_offset, len);
    if (!in) return fail(in.error().message);
    if (echo::checksum(in.value()) != d.reserved[2]) return mismatch(d.tag);
    auto off = ep_.arena().allocate(len);
    if (!off) {
      r.error_code = static_cast<std::uint32_t>(DescriptorError::responseArenaFull);
      return 0;
    }
    held_[{lane, d.tag}].push_back(off.value());
    echo::transform(in.value(), ep_.at(off.value()));
    r.frame_offset = off.value();
    r.frame_size = (len + 7) / 8 * 8;
    r.reserved[1] = len;
    r.reserved[2] = echo::checksum({ep_.at(off.value()), len});
    return 0;
  }

  int frame(const Descriptor& d, std::uint32_t lane, Descriptor& r) {
    auto fr = ep_.requestFrame(lane, d);
    if (!fr) return fail(fr.error().message);
    auto req = fr->root<ringserve::schema::InferRequest>();
    if (!req) return fail(req.error().message);
    capnp::MallocMessageBuilder msg;
    auto res = msg.initRoot<ringserve::schema::InferResponse>().initOk();
    std::vector<std::uint64_t>& blocks = held_[{lane, d.tag}];
    auto built = readGuarded([&]() -> std::string {
      auto inputs = req->getInputs();
      auto outputs = res.initOutputs(inputs.size());
      std::uint64_t inSum = 0, outSum = 0;
      for (unsigned i = 0; i < inputs.size(); ++i) {
        auto t = inputs[i];
        auto in = ep_.peerView(lane, t.getOffset(), t.getSize());
        if (!in) return in.error().message;
        inSum = echo::combine(inSum, echo::checksum(in.value()));
        auto off = ep_.arena().allocate(t.getSize());
        if (!off) return off.error().message;
        blocks.push_back(off.value());
        echo::transform(in.value(), ep_.at(off.value()));
        outSum = echo::combine(outSum, echo::checksum({ep_.at(off.value()), in->size()}));
        auto o = outputs[i];
        o.setName(std::string(t.getName().cStr()) + "_out");
        o.setDatatype(t.getDatatype());
        o.setShape(t.getShape());
        o.setOffset(off.value());
        o.setSize(t.getSize());
      }
      if (hex(inSum) != req->getId().cStr()) return "checksum mismatch";
      res.setId(hex(outSum));
      res.setModelName("echo");
      return "";
    });
    if (!built) return fail(built.error().message);
    if (built.value() == "checksum mismatch") return mismatch(d.tag);
    if (!built.value().empty()) return fail(built.value());
    const std::uint64_t n = frameSize(msg);
    auto off = ep_.arena().allocate(n);
    if (!off) {
      r.error_code = static_cast<std::uint32_t>(DescriptorError::responseArenaFull);
      return 0;
    }
    blocks.push_back(off.value());
    writeFrame(msg, {ep_.at(off.value()), n});
    r.frame_offset = off.value();
    r.frame_size = n;
    return 0;
  }

  static int fail(const std::string& m) {
    std::fprintf(stderr, "transport_echo_peer: %s\n", m.c_str());
    return 3;
  }
  static int mismatch(std::uint64_t tag) {
    std::fprintf(stderr, "transport_echo_peer: checksum mismatch on request %llu\n", static_cast<unsigned long long>(tag));
    return 4;
  }

  WorkerEndpoint& ep_;
  std::map<std::pair<std::uint32_t, std::uint64_t>, std::vector<std::uint64_t>> held_;
  bool quit_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"transport test peer"};
  int shmFd = -1;
  std::string laneFds;
  std::uint64_t spinUs = 20;
  app.add_option("--shm-fd", shmFd)->required();
  app.add_option("--lane-fds", laneFds)->required();
  app.add_option("--spin-us", spinUs);
  CLI11_PARSE(app, argc, argv);

  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() == 1) return 1;

  std::vector<int> fds;
  std::stringstream ss(laneFds);
  for (std::string part; std::getline(ss, part, ',');) fds.push_back(std::stoi(part));

  auto seg = Segment::open(shmFd);
  if (!seg) {
    std::fprintf(stderr, "transport_echo_peer: refusing the segment: %s\n", seg.error().message.c_str());
    return 2;
  }
  WorkerEndpoint ep(*seg, fds);
  Peer peer(ep);
  for (;;) {
    Descriptor d{};
    std::uint32_t lane = 0;
    bool any = false;
    for (;;) {
      auto r = ep.next(d, lane);
      if (!r) {
        std::fprintf(stderr, "transport_echo_peer: %s\n", r.error().message.c_str());
        return 3;
      }
      if (!r.value()) break;
      any = true;
      if (int rc = peer.handle(d, lane); rc != 0) return rc;
    }
    ep.flush();
    if (peer.quit()) return 0;
    if (!any) ep.wait(spinUs * 1000, -1);
  }
}
