@0xe27029301ee85ef1;
# The supervisor <-> worker protocol. Two carriers:
#  - the control channel (a socketpair the worker inherits): one length-prefixed `ToWorker` or
#    `FromWorker` message per frame (see transport/frame.hpp); the worker's first frame is `hello`.
#  - the shared-memory segment: an `InferRequest` / `InferResponse` frame sits in the arena next to
#    the tensors it names, and a fixed-size ring descriptor points at it by offset.
# Compatibility: within one protocol major, only add fields with new ordinals and new enumerants
# (Cap'n Proto keeps old readers working); anything else is a new major (schema/version.hpp).

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("ringserve::schema");

enum DataType {
  bool @0; uint8 @1; uint16 @2; uint32 @3; uint64 @4;
  int8 @5; int16 @6; int32 @7; int64 @8;
  fp16 @9; bf16 @10; fp32 @11; fp64 @12; bytes @13;
}

enum ErrorCode {
  internal @0;           # runtime failure -> HTTP 500
  badInput @1;           # the request is wrong -> 400
  notFound @2;           # unknown model handle, input or output -> 404/400 by context
  unavailable @3;        # worker going away, model unloading -> 503
  resourceExhausted @4;  # arena or ring full -> 503 naming shm_size
  incompatible @5;       # protocol / ABI mismatch
  timeout @6;            # request_timeout -> 504
}

struct Error {
  code @0 :ErrorCode;
  message @1 :Text;
}

struct Hello {
  protocolMajor @0 :UInt16;
  protocolMinor @1 :UInt16;
  shmLayoutVersion @2 :UInt32;
  schemaId @3 :UInt64;        # id of this file, so a worker built from another schema is caught
  workerVersion @4 :Text;     # ringserve version the worker binary was built from
  pid @5 :UInt32;
  sdkAbiMajor @6 :UInt16;
  sdkAbiMinor @7 :UInt16;
  refusal @8 :Text;           # non-empty: the worker will not go on (e.g. segment header mismatch)
}

struct TensorMetadata {
  name @0 :Text;
  datatype @1 :Text;          # V2 spelling ("FP32"); free text because settings may name any
  shape @2 :List(Int64);
  contentType @3 :Text;
}

struct ModelSpec {
  handle @0 :UInt32;          # chosen by the supervisor; InferRequest.modelHandle refers to it
  name @1 :Text;
  version @2 :Text;
  implementation @3 :Text;    # "<module>.<Class>"
  settingsJson @4 :Text;      # the effective model-settings.json (env overrides applied, uri absolute)
  modelDir @5 :Text;          # folder of model-settings.json
  runtimeSearchPath @6 :List(Text);  # folders searched for <module>.so / lib<module>.so, in order
}

struct MetricSample {
  name @0 :Text;
  help @1 :Text;
  kind @2 :Kind;
  enum Kind { counter @0; gauge @1; histogram @2; }
  modelName @3 :Text;
  modelVersion @4 :Text;
  labels @5 :List(Label);
  value @6 :Float64;          # counter/gauge value; histogram sum
  count @7 :UInt64;           # histogram observations
  bucketBounds @8 :List(Float64);
  bucketCounts @9 :List(UInt64);  # cumulative, one per bound
  struct Label { name @0 :Text; value @1 :Text; }
}

struct Heartbeat {
  served @0 :UInt64;          # infer requests answered since start
  rssBytes @1 :UInt64;
  metrics @2 :List(MetricSample);   # runtimes' custom metrics, full snapshot
}

struct ModelLoaded {
  handle @0 :UInt32;
  inputs @1 :List(TensorMetadata);   # as the runtime reports them (may refine the settings)
  outputs @2 :List(TensorMetadata);
}

struct ToWorker {
  id @0 :UInt64;              # echoed by the reply; 0 = no reply expected
  union {
    loadModel @1 :ModelSpec;
    unloadModel @2 :UInt32;   # handle
    heartbeat @3 :Void;
    shutdown @4 :Void;
  }
}

struct FromWorker {
  id @0 :UInt64;              # the ToWorker.id this answers; 0 = unsolicited
  union {
    hello @1 :Hello;
    loaded @2 :ModelLoaded;
    unloaded @3 :UInt32;
    error @4 :Error;
    heartbeat @5 :Heartbeat;
  }
}

# --- frames in the shared-memory arena ---

struct TensorRef {
  name @0 :Text;
  datatype @1 :DataType;
  shape @2 :List(Int64);
  offset @3 :UInt64;          # from the start of the segment; checked against the sender's arena
  size @4 :UInt64;            # bytes; BYTES tensors hold 4-byte LE length + bytes per element
  parametersJson @5 :Text;    # the tensor's `parameters` object as JSON text, or empty
}

struct RequestedOutput {
  name @0 :Text;
  parametersJson @1 :Text;
}

struct InferRequest {
  modelHandle @0 :UInt32;
  id @1 :Text;
  parametersJson @2 :Text;    # request `parameters`, including `headers`
  inputs @3 :List(TensorRef);
  outputs @4 :List(RequestedOutput);   # empty = all outputs
}

struct InferResult {
  modelName @0 :Text;
  modelVersion @1 :Text;
  id @2 :Text;
  parametersJson @3 :Text;    # response `parameters`; `headers` in it become HTTP headers
  outputs @4 :List(TensorRef);
  # Protocol 1.1: when the runtime's predict began (CLOCK_MONOTONIC ns, the clock of the
  # supervisor's std::chrono::steady_clock) and how long it ran. 0 from a 1.0 worker: the
  # supervisor then counts submission to completion as compute time (docs/rest-api.md#statistics).
  predictStartNs @5 :UInt64;
  predictNs @6 :UInt64;
}

struct InferResponse {
  union {
    ok @0 :InferResult;
    error @1 :Error;
  }
}
