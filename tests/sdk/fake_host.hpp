#pragma once
// An in-process stand-in for the worker's side of the C ABI: calls a plugin's entry points the
// way the worker does, with outputs in ordinary memory. Lets SDK tests run without a worker.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ringserve/abi.h"

namespace ringserve::testing {

struct FakeOutput {
  std::string name;
  std::uint32_t datatype = 0;
  std::vector<std::int64_t> shape;
  std::vector<std::byte> data;
  std::string parametersJson;
};

struct FakeInput {
  std::string name;
  std::uint32_t datatype = RINGSERVE_FP32;
  std::vector<std::int64_t> shape;
  std::vector<std::byte> data;
  std::string parametersJson;
};

struct FakeResult {
  std::int32_t code = RINGSERVE_OK;
  std::string error;
  std::string parametersJson;
  std::vector<FakeOutput> outputs;
  const FakeOutput& output(const std::string& name) const;
};

class FakeHost {
 public:
  // Creates and loads `className`; throws std::runtime_error with the plugin's message on failure.
  FakeHost(const std::string& className, const std::string& settingsJson, std::uint32_t hostAbiMajor = RINGSERVE_ABI_MAJOR);
  ~FakeHost();
  FakeResult predict(const std::vector<FakeInput>& inputs, const std::string& parametersJson = "");
  std::vector<std::string> reportedInputs, reportedOutputs;
  std::map<std::string, double> metrics;  // last value per name (sum for counters)

 private:
  ringserve_host host_{};
  void* model_ = nullptr;
};

std::vector<std::byte> bytesOf(const std::vector<std::string>& elements);
template <class T>
std::vector<std::byte> rawOf(const std::vector<T>& v) {
  std::vector<std::byte> out(v.size() * sizeof(T));
  if (!out.empty()) __builtin_memcpy(out.data(), v.data(), out.size());
  return out;
}
std::vector<std::string> stringsOf(const FakeOutput& o);

}  // namespace ringserve::testing
