// isolation.VersionedRuntime: answers with whatever libisolation_versioned.so.1 the worker
// loaded: output `y` = isolation_transform(x) (v1: x + 1000, v2: 2x + 1) and output `library`
// = the library's version string. Built twice, once against each library version.
#include <ringserve/ringserve.hpp>

#include <cstdint>
#include <string>
#include <vector>

extern "C" {
const char* isolation_library_version(void);
long long isolation_transform(long long x);
}

namespace {

class VersionedRuntime : public ringserve::Model {
 public:
  ringserve::InferenceResponse predict(const ringserve::InferenceRequest& request) override {
    const std::vector<std::int64_t> x = request.input("x").values<std::int64_t>();
    ringserve::InferenceResponse response = request.response();
    auto y = response.allocate<std::int64_t>("y", {static_cast<std::int64_t>(x.size())});
    for (std::size_t i = 0; i < x.size(); ++i) y[i] = isolation_transform(x[i]);
    response.addBytes("library", {1}, std::vector<std::string>{isolation_library_version()});
    return response;
  }
};

}  // namespace

RINGSERVE_REGISTER_RUNTIME(VersionedRuntime)
