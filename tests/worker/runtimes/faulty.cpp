// faulty.*: runtimes that misbehave on purpose, one failure each, for the worker tests.
#include <ringserve/ringserve.hpp>

#include <csignal>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace {

using ringserve::InferenceRequest;
using ringserve::InferenceResponse;

class ThrowsInConstructor : public ringserve::Model {
 public:
  ThrowsInConstructor() { throw std::runtime_error("constructor exploded"); }
  InferenceResponse predict(const InferenceRequest& r) override { return r.response(); }
};

class ThrowsInLoad : public ringserve::Model {
 public:
  void load() override { throw std::runtime_error("weights file is corrupt"); }
  InferenceResponse predict(const InferenceRequest& r) override { return r.response(); }
};

class ThrowsInPredict : public ringserve::Model {
 public:
  InferenceResponse predict(const InferenceRequest&) override { throw std::runtime_error("boom"); }
};

class ThrowsNonStandard : public ringserve::Model {
 public:
  InferenceResponse predict(const InferenceRequest&) override { throw 42; }
};

class NoBatching : public ringserve::Model {
 public:
  bool supportsBatching() const override { return false; }
  InferenceResponse predict(const InferenceRequest& r) override { return r.response(); }
};

class RejectsInput : public ringserve::Model {
 public:
  InferenceResponse predict(const InferenceRequest&) override { throw ringserve::BadInput("values must be positive"); }
};

// Claims shape [4] but provides 3 floats.
class WrongElementCount : public ringserve::Model {
 public:
  InferenceResponse predict(const InferenceRequest& r) override {
    auto resp = r.response();
    const float v[3] = {1, 2, 3};
    resp.add<float>("out", {4}, std::span<const float>(v, 3));
    return resp;
  }
};

// Allocates BYTES for shape [3] but writes only 2 elements' worth (bypassing addBytes).
class WrongBytesCount : public ringserve::Model {
 public:
  InferenceResponse predict(const InferenceRequest& r) override {
    auto resp = r.response();
    auto out = resp.allocateRaw("out", ringserve::DataType::BYTES, {3}, 4 + 1 + 4 + 1 + 4);
    const unsigned char bytes[] = {1, 0, 0, 0, 'a', 1, 0, 0, 0, 'b', 5, 0, 0, 0};
    std::memcpy(out.data(), bytes, sizeof bytes);
    return resp;
  }
};

// Writes one float past the span it was given.
class Overrun : public ringserve::Model {
 public:
  InferenceResponse predict(const InferenceRequest& r) override {
    auto resp = r.response();
    auto out = resp.allocate<float>("out", {2});
    float* p = out.data();
    for (int i = 0; i < 3; ++i) p[i] = 1.0f;  // deliberate: one element too many
    return resp;
  }
};

class Segfaults : public ringserve::Model {
 public:
  InferenceResponse predict(const InferenceRequest&) override {
    std::raise(SIGSEGV);
    throw std::logic_error("unreachable");
  }
};

// load() waits until the file named by parameters.extra.release_file exists: a load that takes
// as long as the test wants, without timing.
class WaitsInLoad : public ringserve::Model {
 public:
  void load() override {
    const auto file = settings().extra().getString("release_file");
    if (!file) throw ringserve::BadInput("extra.release_file is required");
    while (!std::ifstream(*file).good()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  InferenceResponse predict(const InferenceRequest& r) override { return r.response(); }
};

class ThrowsInUnload : public ringserve::Model {
 public:
  InferenceResponse predict(const InferenceRequest& r) override { return r.response(); }
  void unload() override { throw std::runtime_error("could not free the accelerator"); }
};

// Reports settings back: uri, version and extra as response parameters.
class SettingsProbe : public ringserve::Model {
 public:
  InferenceResponse predict(const InferenceRequest& r) override {
    auto resp = r.response();
    resp.parameters().set("uri", settings().uri);
    resp.parameters().set("version", settings().version);
    resp.parameters().setRaw("extra", settings().extraJson);
    return resp;
  }
};

// Reports where its first input and its output live in its own address space, so a test can check
// both are inside the worker's mapping of the segment (no copy on either side).
class AddressProbe : public ringserve::Model {
 public:
  InferenceResponse predict(const InferenceRequest& r) override {
    auto resp = r.response();
    auto out = resp.allocate<std::uint64_t>("addresses", {2});
    out[0] = reinterpret_cast<std::uintptr_t>(r.inputs()[0].bytes().data());
    out[1] = reinterpret_cast<std::uintptr_t>(out.data());
    return resp;
  }
};

}  // namespace

RINGSERVE_REGISTER_RUNTIME(AddressProbe)
RINGSERVE_REGISTER_RUNTIME(ThrowsInConstructor)
RINGSERVE_REGISTER_RUNTIME(ThrowsInLoad)
RINGSERVE_REGISTER_RUNTIME(NoBatching)
RINGSERVE_REGISTER_RUNTIME(ThrowsInPredict)
RINGSERVE_REGISTER_RUNTIME(ThrowsNonStandard)
RINGSERVE_REGISTER_RUNTIME(RejectsInput)
RINGSERVE_REGISTER_RUNTIME(WrongElementCount)
RINGSERVE_REGISTER_RUNTIME(WrongBytesCount)
RINGSERVE_REGISTER_RUNTIME(Overrun)
RINGSERVE_REGISTER_RUNTIME(Segfaults)
RINGSERVE_REGISTER_RUNTIME(WaitsInLoad)
RINGSERVE_REGISTER_RUNTIME(ThrowsInUnload)
RINGSERVE_REGISTER_RUNTIME(SettingsProbe)
