#include "clients/loadgen/probe.hpp"

#include <poll.h>

#include "clients/loadgen/bench_run.hpp"

namespace ringserve::loadgen {

Exchange exchangeOnce(const Endpoint& ep, const std::string& request, double timeoutS) {
  Connection c(ep, true);
  std::vector<Exchange> done;
  std::string error;
  if (!c.open(&error)) {
    Exchange e;
    e.error = error;
    return e;
  }
  c.send(request, 0, 0);
  const std::uint64_t deadline = monotonicNs() + std::uint64_t(timeoutS * 1e9);
  bool alive = c.flush(done);
  while (alive && done.empty()) {
    const std::uint64_t now = monotonicNs();
    if (now >= deadline) {
      c.fail("timeout", done);
      break;
    }
    pollfd p{c.fd(), short(POLLIN | (c.wantsWrite() ? POLLOUT : 0)), 0};
    const int n = ::poll(&p, 1, int((deadline - now) / 1'000'000) + 1);
    if (n <= 0) continue;
    if (p.revents & (POLLOUT | POLLERR)) alive = c.flush(done);
    if (alive && (p.revents & (POLLIN | POLLHUP | POLLERR))) alive = c.onReadable(done);
  }
  if (done.empty()) {
    Exchange e;
    e.error = "no response";
    return e;
  }
  return std::move(done.front());
}

}  // namespace ringserve::loadgen
