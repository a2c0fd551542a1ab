#pragma once
// The life of one model version in the registry (ServerCore's Instance), as an explicit state
// and a transition table. The table is data (modelTransitions()) so the README's table can be
// checked against it (tests/supervisor/core/model_state_test.cpp) and a transition it does not
// list is a bug here (RINGSERVE_BUG_IF), not a silent flag combination.
//
// The per-worker facts (loaded on, load pending on, failed on which worker) stay in the Instance;
// `settle` turns them into one of the events below after every change. Whether an instance is a
// reload candidate (routed only once it is ready, then the copy it replaces drains) is its role,
// kept beside the phase: a candidate goes through the same phases.
//
// Threads: main loop only, like everything that owns an Instance.
#include <optional>
#include <span>

#include "supervisor/core/routing.hpp"

namespace ringserve::supervisor {

enum class ModelPhase {
  preparing,   // its environment is being prepared off the main loop
  loading,     // placed on workers; loads sent, or waiting for the workers' handshake
  ready,       // loaded on at least one worker and failed on none
  restarting,  // nothing loaded because its workers died or cannot start; they are coming back
  failed,      // a load failed or timed out, the environment failed, or its workers gave up
  draining,    // unloading: never routed again; in-flight requests finish, then workers unload it
  gone,        // out of the registry: unloaded, a failed reload candidate, not loaded at startup
};

enum class ModelEvent {
  prepareEnvironment,  // load() of a model with an environment
  place,               // environment ready (or none): placed on a pool's workers
  environmentFailed,   // its environment could not be prepared (or the server is shutting down)
  loaded,              // settle: loaded somewhere, failed nowhere
  loadFailed,          // settle: failed on a worker (load error, load deadline, gave up)
  waiting,             // settle: nothing loaded, nothing failed
  workersLost,         // its workers died or cannot start and nothing is loaded; restart scheduled
  unload,              // an unload, or a reload's new copy became ready (for the old copy)
  drained,             // its in-flight requests finished and the workers were told to unload
  discard,             // a candidate that failed or was unloaded, a model not loaded at startup
};

const char* toString(ModelPhase p);  // "preparing", ...
const char* toString(ModelEvent e);  // "place", ...

struct ModelTransition {
  ModelPhase from;
  ModelEvent event;
  ModelPhase to;
};

// Every allowed transition, in the order of supervisor/core/README.md's table. An event with no
// row for the current phase is not allowed.
std::span<const ModelTransition> modelTransitions();

// The phase after `event`, or nullopt when the table has no such transition.
std::optional<ModelPhase> nextPhase(ModelPhase from, ModelEvent event);

// What routes and the repository index show for a phase (V2 state names).
ModelState publicState(ModelPhase p);
// Not ready only because workers are coming back: unavailable, retriable (ModelRoute::restarting).
inline bool retriable(ModelPhase p) { return p == ModelPhase::restarting; }

}  // namespace ringserve::supervisor
