#pragma once
// The runtime base class and the registration macro.
//
//   class MyRuntime : public ringserve::Model {
//    public:
//     void load() override;                                  // read settings().uri; throw to fail
//     ringserve::InferenceResponse predict(const ringserve::InferenceRequest&) override;
//     void unload() override;                                // free everything
//   };
//   RINGSERVE_REGISTER_RUNTIME(MyRuntime)   // implementation "<library>.MyRuntime"
//
// The SDK constructs the class with its default constructor; settings(), metrics() and log() are
// usable from the constructor on. Exceptions never cross into the worker: BadInput becomes a 400,
// anything else a 500 (or a failed load) carrying what() (see errors.hpp).
#include <memory>
#include <string_view>
#include <vector>

#include "ringserve/abi.h"
#include "ringserve/errors.hpp"
#include "ringserve/metrics.hpp"
#include "ringserve/request.hpp"
#include "ringserve/response.hpp"
#include "ringserve/settings.hpp"

namespace ringserve {

namespace detail {
struct ModelContext;
}

class Model {
 public:
  Model();
  virtual ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  virtual void load() {}
  virtual InferenceResponse predict(const InferenceRequest& request) = 0;
  virtual void unload() {}
  // What the server reports as the model's inputs and outputs; default: the settings' metadata.
  virtual std::vector<TensorMetadata> inputs() const { return settings().inputs; }
  virtual std::vector<TensorMetadata> outputs() const { return settings().outputs; }
  // Whether predict() accepts batched requests. With batching enabled in the settings
  // (max_batch_size > 1 and max_batch_time > 0) the server merges requests: each input arrives as
  // an ordinary tensor whose first dimension is the sum of the merged requests' rows, and every
  // output must keep that first dimension (row i of each output belongs to row i of the inputs),
  // so the server can split it back. Return false if predict() cannot keep that contract: a model
  // whose settings enable batching then fails to load, naming the settings to remove. Asked once,
  // after the constructor and before load().
  virtual bool supportsBatching() const { return true; }

  const ModelSettings& settings() const;
  const Metrics& metrics() const;
  void log(LogLevel level, std::string_view message) const;

 private:
  std::shared_ptr<const detail::ModelContext> context_;
};

namespace detail {
using Factory = std::unique_ptr<Model> (*)();
// Adds a class to the library's registry (static initialisation time); returns true.
bool registerRuntime(const char* className, Factory factory);
template <class T>
std::unique_ptr<Model> makeRuntime() {
  return std::make_unique<T>();
}
}  // namespace detail

}  // namespace ringserve

#define RINGSERVE_PP_CAT2(a, b) a##b
#define RINGSERVE_PP_CAT(a, b) RINGSERVE_PP_CAT2(a, b)
// Registers `Class` under `Name` (the class part of `implementation`).
#define RINGSERVE_REGISTER_RUNTIME_AS(Class, Name)                                              \
  namespace {                                                                                   \
  [[maybe_unused]] const bool RINGSERVE_PP_CAT(ringserve_registered_, __LINE__) =               \
      ::ringserve::detail::registerRuntime(Name, &::ringserve::detail::makeRuntime<Class>);     \
  }
// Registers `Class` under its own (unqualified) name.
#define RINGSERVE_REGISTER_RUNTIME(Class) RINGSERVE_REGISTER_RUNTIME_AS(Class, #Class)
