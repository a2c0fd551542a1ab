@0xe87431d992c7195c;
# The control socket (docs/cli.md#the-control-socket): `ringserve ctl` <-> supervisor. One length-prefixed request frame,
# one response frame, per operation (transport/frame.hpp framing). A connection may carry several
# operations one after another.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("ringserve::schema");

struct ModelRef {
  name @0 :Text;              # a model of the repository, or empty when `path` is given
  path @1 :Text;              # a model folder holding model-settings.json
  version @2 :Text;           # empty = every version found
}

struct ControlRequest {
  union {
    load @0 :ModelRef;
    reload @1 :ModelRef;
    unload @2 :ModelRef;
    list @3 :Void;
    status @4 :Void;
  }
}

enum ModelState { unknown @0; ready @1; unavailable @2; loading @3; unloading @4; }

struct ModelEntry {
  name @0 :Text;
  version @1 :Text;
  state @2 :ModelState;
  reason @3 :Text;
  pool @4 :Text;
}

struct WorkerStatus {
  id @0 :Text;                # "<pool>/<index>"
  pid @1 :UInt32;
  state @2 :Text;             # starting, ready, restarting, failed, stopping
  restarts @3 :UInt32;
  inFlight @4 :UInt32;
  shmUsedBytes @5 :UInt64;
  shmSizeBytes @6 :UInt64;
  models @7 :List(Text);
}

struct PoolStatus {
  key @0 :Text;               # "default", sha256:..., gid
  environment @1 :Text;       # unpacked folder, or empty for the server's own worker
  environmentBytes @2 :UInt64;
  workers @3 :List(WorkerStatus);
}

struct ServerStatus {
  pid @0 :UInt32;
  version @1 :Text;
  uptimeSeconds @2 :Float64;
  httpPort @3 :UInt16;
  grpcPort @4 :UInt16;
  metricsPort @5 :UInt16;
  controlSocket @6 :Text;
  pools @7 :List(PoolStatus);
}

struct ControlResponse {
  union {
    ok @0 :Text;              # human-readable summary of what was done
    error @1 :Text;           # why the operation failed; the old state is kept
    list @2 :List(ModelEntry);
    status @3 :ServerStatus;
  }
}
