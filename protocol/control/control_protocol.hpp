#pragma once
// The control socket's messages (schema/control.capnp) as plain values, and their conversion to and
// from Cap'n Proto. Both ends use it: the server decodes commands and builds replies, `ringserve ctl`
// the reverse. Decoding reads a peer's bytes: every failure is a ProtocolError value, never an
// exception. This target includes no server header (protocol/README.md): `ringserve ctl` links it alone.
#include <capnp/message.h>

#include <cstdint>
#include <string>
#include <vector>

#include "transport/model_state.hpp"
#include "transport/result.hpp"

namespace ringserve::control {

// Why a frame could not be decoded; the server sends it back as an error reply, ctl prints it.
struct ProtocolError {
  enum class Kind {
    badRequest,  // a request the server cannot decode: the peer's fault
    badReply,    // a reply ctl cannot decode: a broken or newer server
  };
  Kind kind = Kind::badRequest;
  std::string message;
};
template <class T>
using ProtocolResult = BasicResult<T, ProtocolError>;

// Frame limits (transport/frame.hpp stream frames). A request names a model or a folder, so 64 KiB
// is generous; a reply lists every model and worker of a large server.
inline constexpr std::uint32_t kMaxRequestFrame = 64u << 10;
inline constexpr std::uint32_t kMaxReplyFrame = 16u << 20;
// Field limits checked when a request is decoded.
inline constexpr std::size_t kMaxNameBytes = 1024;
inline constexpr std::size_t kMaxPathBytes = 4096;

enum class Operation { load, reload, unload, list, status };
const char* toString(Operation op);  // "load", ...

// One operation. load/reload take `name` (a model of the repository) or `path` (an absolute model
// folder); unload takes `name`. `version` is carried by the schema but no operation accepts it yet.
struct Command {
  Operation op = Operation::list;
  std::string name;
  std::string path;
  std::string version;
};
// "load resnet", "load --path /models/x", "list".
std::string describe(const Command& c);

// A model's state as the protocol carries it (schema::ModelState on the wire): the base
// library's, the same the server's routing table holds.
using transport::ModelState;
using transport::toString;

struct ModelEntry {
  std::string name, version;
  ModelState state = ModelState::unknown;
  std::string reason, pool;
};

struct WorkerStatus {
  std::string id;         // "<pool>/<index>"
  std::uint32_t pid = 0;  // 0 while no process runs
  std::string state;
  std::uint32_t restarts = 0;
  std::uint32_t inFlight = 0;
  std::uint64_t shmUsedBytes = 0;
  std::uint64_t shmSizeBytes = 0;
  std::vector<std::string> models;
};

struct PoolStatus {
  std::string key;
  std::string environment;
  std::uint64_t environmentBytes = 0;
  std::vector<WorkerStatus> workers;
};

struct ServerStatus {
  std::uint32_t pid = 0;
  std::string version;
  double uptimeSeconds = 0;
  std::uint16_t httpPort = 0, grpcPort = 0, metricsPort = 0;
  std::string controlSocket;
  std::vector<PoolStatus> pools;
};

struct Reply {
  enum class Kind { ok, error, list, status };
  Kind kind = Kind::ok;
  std::string message;             // ok: what was done; error: why it failed
  std::vector<ModelEntry> models;  // list
  ServerStatus status;             // status

  static Reply ok(std::string m) { return {Kind::ok, std::move(m), {}, {}}; }
  static Reply error(std::string m) { return {Kind::error, std::move(m), {}, {}}; }
};

void buildCommand(const Command& c, capnp::MessageBuilder& message);
// `words` is one stream frame's message. Malformed frames and unknown operations (a newer client)
// are errors naming the problem.
ProtocolResult<Command> decodeCommand(std::vector<capnp::word> words);
// Whether the command makes sense (fields within limits, a name or a path where needed): empty when
// it does, else the reason. The connection stays usable after such an error.
std::string validateCommand(const Command& c);

void buildReply(const Reply& r, capnp::MessageBuilder& message);
ProtocolResult<Reply> decodeReply(std::vector<capnp::word> words);

}  // namespace ringserve::control
