#pragma once
// Control-channel messages <-> the plain structs of worker_messages.hpp, and the handshake rule.
// Internal to this folder: the capnp readers never escape these functions.
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include <capnp/message.h>

#include "supervisor/error.hpp"
#include "supervisor/process/worker_messages.hpp"

namespace ringserve::supervisor::detail {

std::vector<std::byte> encodeLoadModel(std::uint64_t id, const ModelLoadSpec& spec);
std::vector<std::byte> encodeUnloadModel(std::uint64_t id, std::uint32_t handle);
std::vector<std::byte> encodeShutdown(std::uint64_t id);

// The fields of a hello before they are judged.
struct HelloFrame {
  WorkerHello hello;
  std::uint64_t schemaId = 0;
  std::string refusal;
};

// One decoded FromWorker frame.
struct FromWorkerFrame {
  std::uint64_t id = 0;
  // hello | loaded | unloaded handle | the worker's error mapped to a status | heartbeat
  std::variant<HelloFrame, LoadedModel, std::uint32_t, Error, WorkerHeartbeat> body;
};

// Parses one frame's words; a malformed frame or an unknown union member is an error message.
struct DecodeResult {
  bool ok = false;
  FromWorkerFrame frame;
  std::string error;
};
DecodeResult decodeFromWorker(std::vector<capnp::word> words);

// The handshake rule: empty when the hello is acceptable, else the refusal text, which names the
// pool label and both sides' versions. `hello.compatibility` is filled in.
std::string judgeHello(HelloFrame& hello, const std::string& poolLabel);

}  // namespace ringserve::supervisor::detail
