#pragma once
// Every version number the supervisor, workers and plugins exchange, in one place, and the rule
// that decides whether two of them can talk.
//
// When to bump which:
//  - kProtocolMinor: a field or enumerant was *added* to worker.capnp / control.capnp, or a message
//    kind was added that an older peer may ignore. Old workers keep working (same major).
//  - kProtocolMajor (and reset the minor): a field changed meaning or type, a message an older peer
//    cannot ignore was added, or framing changed. Old workers are refused with both versions named.
//  - kShmLayoutVersion: bump this whenever the layout of anything in the shared-memory segment
//    changes (SegmentHeader, LaneControl, Descriptor, ring or arena placement). Must match exactly.
//  - kSdkAbiMajor / kSdkAbiMinor: the plugin C ABI in sdk/include/ringserve/abi.h. Minor for an
//    added optional entry point or an appended host-table slot, major for anything else.
#include <cstdint>
#include <string>

namespace ringserve {

inline constexpr std::uint16_t kProtocolMajor = RINGSERVE_PROTOCOL_MAJOR;
inline constexpr std::uint16_t kProtocolMinor = RINGSERVE_PROTOCOL_MINOR;
// The oldest minor of kProtocolMajor this build still speaks.
inline constexpr std::uint16_t kOldestProtocolMinor = 0;
inline constexpr std::uint32_t kShmLayoutVersion = 1;
inline constexpr std::uint16_t kSdkAbiMajor = 1;
inline constexpr std::uint16_t kSdkAbiMinor = 1;  // 1.1: ringserve_model_supports_batching
// The file id of worker.capnp, sent in the handshake so a worker built from another schema is caught.
inline constexpr std::uint64_t kWorkerSchemaId = 0xe27029301ee85ef1ULL;

struct ProtocolVersion {
  std::uint16_t major = 0;
  std::uint16_t minor = 0;
  friend bool operator==(const ProtocolVersion&, const ProtocolVersion&) = default;
};

inline constexpr ProtocolVersion kProtocolVersion{kProtocolMajor, kProtocolMinor};

enum class Compatibility {
  supported,    // same major, minor in [kOldestProtocolMinor, kProtocolMinor]
  untested,     // same major, newer minor: accepted with a warning (Cap'n Proto is forward compatible)
  unsupported,  // other major, or a minor older than we still speak: refused
};

// Whether a server speaking `server` (oldest minor `oldestMinor`) accepts a worker speaking `worker`.
Compatibility protocolCompatibility(ProtocolVersion server, std::uint16_t oldestMinor,
                                    ProtocolVersion worker);
inline Compatibility protocolCompatibility(ProtocolVersion worker) {
  return protocolCompatibility(kProtocolVersion, kOldestProtocolMinor, worker);
}

// Whether a plugin built against SDK ABI `pluginMajor.pluginMinor` can be used by this worker.
// Same major and a minor not newer than ours: the plugin uses nothing we lack.
bool sdkAbiCompatible(std::uint16_t pluginMajor, std::uint16_t pluginMinor);

std::string toString(ProtocolVersion v);        // "1.0"
std::string toString(Compatibility c);          // "supported" ...
// "1.0–1.3": the protocol range this server accepts.
std::string supportedProtocolRange();

// The ringserve release these binaries were built from.
const char* buildVersion();

}  // namespace ringserve
