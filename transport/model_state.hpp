#pragma once
// A model's state as every side names it: the server's routing table (supervisor/core/routing.hpp),
// the control protocol and its clients (protocol/control, `ringserve ctl`), and the V2 repository
// index. One enum, so no side maps it onto another; schema::ModelState is its wire form
// (protocol/control/control_protocol.cpp converts).
namespace ringserve::transport {

enum class ModelState { unknown, ready, unavailable, loading, unloading };

// "READY", ...: the V2 repository index spelling.
inline const char* toString(ModelState s) {
  switch (s) {
    case ModelState::unknown: return "UNKNOWN";
    case ModelState::ready: return "READY";
    case ModelState::unavailable: return "UNAVAILABLE";
    case ModelState::loading: return "LOADING";
    case ModelState::unloading: return "UNLOADING";
  }
  return "UNKNOWN";
}

}  // namespace ringserve::transport
