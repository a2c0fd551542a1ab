#pragma once
// The shared-memory segment, byte for byte. One segment per worker, created by the supervisor.
//
//   0                  SegmentHeader (magic, layout version, sizes, wake words)
//   lanes_offset       LaneControl[lane_count]       ring indices + the loop's wake word per lane
//   rings_offset       per lane: request slots[ring_slots], response slots[ring_slots]
//   request_arena      lane_count x request_arena_size  (lane k's sub-arena is allocated by the
//                      supervisor thread that owns lane k; the worker only reads it)
//   response_arena     response_arena_size (allocated by the worker; the supervisor only reads it)
//
// A lane is one supervisor event-loop thread's private path to this worker: every ring has exactly
// one producer and one consumer, so no lock is ever shared between processes.
//
// Everything here is trivially copyable; words that are shared while both processes run are
// accessed through std::atomic_ref and are at most 64 bits, so a process dying mid-write leaves
// either the old or the new value. Only offsets (from the segment's start) cross the boundary.
//
// Bump kShmLayoutVersion (schema/version.hpp) whenever the layout of anything in this file changes.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "schema/version.hpp"

namespace ringserve::transport {

inline constexpr std::uint64_t kSegmentMagic = 0x474E4952'5352'0001ULL;  // "RSRING" + 1
inline constexpr std::size_t kCacheLine = 64;
inline constexpr std::size_t kArenaAlignment = 64;     // every arena block starts on a cache line
inline constexpr std::size_t kRegionAlignment = 4096;  // arenas start on a page

struct alignas(kCacheLine) SegmentHeader {
  std::uint64_t magic;
  std::uint32_t layout_version;
  std::uint32_t header_size;  // sizeof(SegmentHeader) of the creator
  std::uint64_t total_size;
  std::uint32_t lane_count;
  std::uint32_t ring_slots;   // per ring, a power of two
  std::uint32_t descriptor_size;
  std::uint32_t lane_control_size;
  std::uint64_t lanes_offset;
  std::uint64_t rings_offset;
  std::uint64_t request_arena_offset;
  std::uint64_t request_arena_size;   // per lane
  std::uint64_t response_arena_offset;
  std::uint64_t response_arena_size;
  std::uint32_t creator_pid;
  std::uint32_t creator_uid;
  std::uint64_t shm_size_setting;     // what the user asked for, quoted in arena-full errors
  // --- written while both run (atomic_ref) ---
  alignas(kCacheLine) std::uint32_t worker_sleeping;  // 1: the worker may be asleep on wake_seq
  std::uint32_t worker_wake_seq;                      // futex word the worker sleeps on
  std::uint64_t worker_progress;                      // bumped per request served (hang detection)
  std::uint32_t worker_pid;
  std::uint32_t reserved0;
};

struct alignas(kCacheLine) RingIndex {
  std::uint64_t head;                // next slot the producer writes; written by the producer only
  alignas(kCacheLine) std::uint64_t tail;  // next slot the consumer reads; written by the consumer only
};

struct alignas(kCacheLine) LaneControl {
  RingIndex request;    // supervisor lane -> worker
  RingIndex response;   // worker -> supervisor lane
  alignas(kCacheLine) std::uint32_t loop_waiting;  // 1: the lane's loop wants an eventfd wake-up
  std::uint32_t reserved0;
};

enum class DescriptorKind : std::uint32_t {
  infer = 1,     // sup -> worker: frame is an InferRequest
  release = 2,   // sup -> worker: free every response block the worker allocated for `tag`
  response = 3,  // worker -> sup: frame is an InferResponse (or error_code set and no frame)
};

// A response whose frame could not be written carries one of these instead.
enum class DescriptorError : std::uint32_t {
  none = 0,
  responseArenaFull = 1,
  badRequestFrame = 2,
};

struct Descriptor {
  std::uint32_t kind;          // DescriptorKind
  std::uint32_t error_code;    // DescriptorError, responses only
  std::uint64_t tag;           // chosen by the supervisor lane; echoed back
  std::uint64_t frame_offset;  // from the segment start; 8-byte aligned, inside the sender's arena
  std::uint64_t frame_size;    // bytes, a multiple of 8
  std::uint64_t sent_ns;       // CLOCK_MONOTONIC when published (latency accounting only)
  std::uint64_t reserved[3];
};

static_assert(std::is_trivially_copyable_v<SegmentHeader>);
static_assert(std::is_trivially_copyable_v<RingIndex>);
static_assert(std::is_trivially_copyable_v<LaneControl>);
static_assert(std::is_trivially_copyable_v<Descriptor>);
static_assert(std::is_standard_layout_v<SegmentHeader> && std::is_standard_layout_v<LaneControl>);
static_assert(sizeof(Descriptor) == 64, "one descriptor per cache line");
static_assert(sizeof(RingIndex) == 2 * kCacheLine, "head and tail on separate cache lines");
static_assert(offsetof(RingIndex, tail) == kCacheLine);
static_assert(sizeof(LaneControl) == 5 * kCacheLine);
static_assert(offsetof(SegmentHeader, worker_sleeping) % kCacheLine == 0);
static_assert(sizeof(SegmentHeader) == 3 * kCacheLine);
static_assert(std::atomic_ref<std::uint64_t>::is_always_lock_free);
static_assert(std::atomic_ref<std::uint32_t>::is_always_lock_free);
static_assert(std::atomic_ref<std::uint64_t>::required_alignment <= alignof(std::uint64_t));

// Where everything goes, computed the same way by creator and opener.
struct SegmentConfig {
  std::uint32_t lane_count = 1;
  std::uint32_t ring_slots = 256;
  std::uint64_t request_arena_size = 64ULL << 20;   // per lane
  std::uint64_t response_arena_size = 64ULL << 20;
  std::uint64_t shm_size_setting = 0;               // 0: the sum of the above

  // Splits a `shm_size` setting: half for requests (shared out among the lanes), half for responses.
  static SegmentConfig fromShmSize(std::uint64_t shm_size, std::uint32_t lanes,
                                   std::uint32_t ring_slots = 256);
};

struct SegmentLayout {
  std::uint64_t lanes_offset, rings_offset, request_arena_offset, response_arena_offset, total_size;
  static SegmentLayout compute(const SegmentConfig& c);
};

}  // namespace ringserve::transport
