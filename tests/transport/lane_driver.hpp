#pragma once
// The supervisor side of the cross-process tests: drives one SupervisorLane against
// transport_echo_peer, keeping a window of requests in flight, verifying every answer byte for
// byte, releasing response blocks and freeing request blocks as the real lane does. Sleeps on
// the lane's eventfd and the peer's pidfd, so a dead peer is noticed without polling.
#include <cstdint>
#include <functional>
#include <string>

#include "transport/endpoint.hpp"

namespace ringserve::transport::testing {

struct DriveOptions {
  std::uint64_t messages = 1000;
  std::uint32_t window = 32;       // requests in flight at most
  std::uint64_t seed = 1;
  std::uint32_t capnpEvery = 8;    // every n-th request is an InferRequest frame (0: never)
  std::uint64_t maxPayload = 64 << 10;
  // Called after each verified response with the count so far (e.g. to kill the peer).
  std::function<void(std::uint64_t)> onResponse;
};

struct DriveResult {
  std::uint64_t verified = 0;
  bool peerDied = false;
  std::string error;   // first failure, empty when all went well
};

DriveResult drive(SupervisorLane& lane, int peerPidfd, const DriveOptions& options);

// Sends a quit request and returns the peer's reported response-arena bytes in use, or an error
// string when it does not answer.
std::string quitPeer(SupervisorLane& lane, int peerPidfd, std::uint64_t& arenaInUse);
// Waits until the peer has handled everything posted on `lane` so far; same reporting.
std::string syncPeer(SupervisorLane& lane, int peerPidfd, std::uint64_t& arenaInUse);

}  // namespace ringserve::transport::testing
