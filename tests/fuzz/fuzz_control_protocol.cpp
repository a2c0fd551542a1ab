// Fuzz target: the control socket's frame decoding (protocol/control/control_protocol.hpp), on
// a local client's bytes (commands, read by the server) and on the server's (replies, read by
// `ringserve ctl`). The first byte picks which; the rest is one frame's message.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "protocol/control/control_protocol.hpp"

using namespace ringserve::control;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  std::vector<capnp::word> words((size - 1) / 8);
  if (!words.empty()) std::memcpy(words.data(), data + 1, words.size() * 8);
  if (data[0] % 2 == 0) {
    auto c = decodeCommand(std::move(words));
    if (c) {
      (void)validateCommand(c.value());
      (void)describe(c.value());
    }
  } else {
    (void)decodeReply(std::move(words));
  }
  return 0;
}
