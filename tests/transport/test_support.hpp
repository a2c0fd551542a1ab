#pragma once
// Helpers shared by the transport tests: leak counting, segment construction, sanitizer detection.
#include <cstddef>
#include <cstdint>
#include <string>

#include "transport/segment.hpp"

namespace ringserve::transport::testing {

// memfds this process holds open ("/memfd:<name> (deleted)" in /proc/self/fd).
std::size_t countMemfds();
// Entries in /dev/shm (named POSIX segments; the transport must never create any).
std::size_t countDevShm();

// A small segment for in-process tests; fails the calling test if creation fails.
Segment makeSegment(std::uint32_t lanes = 1, std::uint32_t slots = 8, std::uint64_t arenaBytes = 1 << 16);

// Scales iteration counts down where instrumentation makes every access 5-50x slower.
constexpr bool kSanitized =
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
    true;
#else
    false;
#endif
#else
    false;
#endif
constexpr std::uint64_t scaled(std::uint64_t n) { return kSanitized ? n / 16 + 1 : n; }

}  // namespace ringserve::transport::testing
