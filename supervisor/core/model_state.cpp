#include "supervisor/core/model_state.hpp"

namespace ringserve::supervisor {

namespace {
using P = ModelPhase;
using E = ModelEvent;
constexpr ModelTransition kTable[] = {
    {P::loading, E::prepareEnvironment, P::preparing},
    {P::preparing, E::place, P::loading},
    {P::loading, E::place, P::loading},
    {P::preparing, E::environmentFailed, P::failed},
    {P::loading, E::loaded, P::ready},
    {P::restarting, E::loaded, P::ready},
    {P::failed, E::loaded, P::ready},
    {P::ready, E::loaded, P::ready},
    {P::loading, E::loadFailed, P::failed},
    {P::restarting, E::loadFailed, P::failed},
    {P::ready, E::loadFailed, P::failed},
    {P::failed, E::loadFailed, P::failed},
    {P::loading, E::waiting, P::loading},
    {P::ready, E::waiting, P::loading},
    {P::failed, E::waiting, P::loading},
    {P::restarting, E::waiting, P::restarting},
    {P::loading, E::workersLost, P::restarting},
    {P::ready, E::workersLost, P::restarting},
    {P::restarting, E::workersLost, P::restarting},
    {P::draining, E::workersLost, P::draining},
    {P::preparing, E::unload, P::draining},
    {P::loading, E::unload, P::draining},
    {P::ready, E::unload, P::draining},
    {P::restarting, E::unload, P::draining},
    {P::failed, E::unload, P::draining},
    {P::draining, E::drained, P::gone},
    {P::loading, E::discard, P::gone},
    {P::failed, E::discard, P::gone},
};
}  // namespace

const char* toString(ModelPhase p) {
  switch (p) {
    case P::preparing: return "preparing";
    case P::loading: return "loading";
    case P::ready: return "ready";
    case P::restarting: return "restarting";
    case P::failed: return "failed";
    case P::draining: return "draining";
    case P::gone: return "gone";
  }
  return "?";
}

const char* toString(ModelEvent e) {
  switch (e) {
    case E::prepareEnvironment: return "prepareEnvironment";
    case E::place: return "place";
    case E::environmentFailed: return "environmentFailed";
    case E::loaded: return "loaded";
    case E::loadFailed: return "loadFailed";
    case E::waiting: return "waiting";
    case E::workersLost: return "workersLost";
    case E::unload: return "unload";
    case E::drained: return "drained";
    case E::discard: return "discard";
  }
  return "?";
}

std::span<const ModelTransition> modelTransitions() { return kTable; }

std::optional<ModelPhase> nextPhase(ModelPhase from, ModelEvent event) {
  for (const auto& t : kTable)
    if (t.from == from && t.event == event) return t.to;
  return std::nullopt;
}

ModelState publicState(ModelPhase p) {
  switch (p) {
    case P::preparing:
    case P::loading:
    case P::restarting: return ModelState::loading;
    case P::ready: return ModelState::ready;
    case P::failed:
    case P::gone: return ModelState::unavailable;
    case P::draining: return ModelState::unloading;
  }
  return ModelState::unknown;
}

}  // namespace ringserve::supervisor
