#pragma once
// What the model manager (ServerCore and its parts: worker_pools.hpp, model_registry.hpp) is
// built from. Owned by ServerCore for its whole life; the parts keep a const reference.
#include <chrono>
#include <memory>
#include <string>

#include "supervisor/environments/environment.hpp"
#include "supervisor/process/restart_policy.hpp"
#include "supervisor/process/worker_handle.hpp"
#include "supervisor/settings/repository.hpp"
#include "supervisor/settings/server_settings.hpp"

namespace ringserve::supervisor {

struct ManagerOptions {
  settings::ServerSettings settings;
  std::string workerExecutable;            // the server's own ringserve-worker
  std::string builtinRuntimeDir;           // <install>/lib/ringserve/runtimes
  settings::EnvMap env;                    // for re-reading model-settings.json on load
  environments::Limits environmentLimits;  // of every unpack (tests: a writeHook holding one)
  // How workers start; null: real processes (processSpawner on the main loop). Tests pass a
  // double (tests/supervisor/core/fake_spawner.hpp) and drive the main loop themselves.
  std::shared_ptr<WorkerSpawner> spawner;
  RestartPolicyConfig restartPolicy;                // of every worker slot
  std::chrono::milliseconds loadDeadline{120'000};  // a load still pending after this fails the model
  std::chrono::milliseconds resourceRetry{1'000};   // respawn period while the supervisor lacks fds/memory
};

}  // namespace ringserve::supervisor
