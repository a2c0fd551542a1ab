#pragma once
// Job 4 of the model manager (supervisor/core/README.md): what the registry's state looks like to
// everyone else. publish() turns the registry's instances into the immutable RoutingTable the
// front ends read on every request (with each model's V2 metadata body and Triton configuration,
// encoded by codec/) and into the repository index.
//
// Threads: publish() on the main loop; routing() and index() from any thread (an atomic swap and
// a copy under a mutex).
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "supervisor/core/routing.hpp"

namespace ringserve::supervisor {

struct ModelInstance;  // model_registry.hpp

struct IndexEntry {
  std::string name;
  std::string version;
  ModelState state = ModelState::unknown;
  std::string reason;
};

class RoutingPublication {
 public:
  // `broken`: model-settings.json files that failed to parse; `unloaded`: (name, version) ->
  // reason for versions no longer in the registry, listed until one is loaded again.
  void publish(const std::vector<std::shared_ptr<ModelInstance>>& instances, const std::vector<IndexEntry>& broken,
               const std::map<std::pair<std::string, std::string>, std::string>& unloaded);
  std::shared_ptr<const RoutingTable> routing() const { return routing_.current(); }
  std::vector<IndexEntry> index() const;  // a copy of the last published index, sorted by (name, version)

 private:
  RoutingPublisher routing_;
  mutable std::mutex indexMutex_;
  std::vector<IndexEntry> index_;
};

}  // namespace ringserve::supervisor
