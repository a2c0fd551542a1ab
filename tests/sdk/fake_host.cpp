#include "fake_host.hpp"

#include <cstring>
#include <memory>
#include <stdexcept>

// The fake's call context. The test binary links the SDK (which defines the entry points) but not
// the worker, so this is the only definition of the opaque type in the program.
struct ringserve_call {
  std::int32_t code = RINGSERVE_OK;
  std::string error;
  std::string parameters;
  std::vector<std::unique_ptr<ringserve::testing::FakeOutput>> outputs;
  std::vector<std::string>* inputs = nullptr;
  std::vector<std::string>* outputsMeta = nullptr;
};

struct ringserve_host_model {
  std::map<std::string, double>* metrics = nullptr;
};

namespace ringserve::testing {

namespace {
std::string s(const ringserve_string& v) { return v.size ? std::string(v.data, v.size) : std::string(); }
ringserve_string rs(const std::string& v) { return {v.data(), v.size()}; }
ringserve_host_model gHostModel;
}  // namespace

const FakeOutput& FakeResult::output(const std::string& name) const {
  for (const auto& o : outputs)
    if (o.name == name) return o;
  throw std::runtime_error("no output " + name);
}

std::vector<std::byte> bytesOf(const std::vector<std::string>& elements) {
  std::vector<std::byte> out;
  for (const auto& e : elements) {
    const auto len = static_cast<std::uint32_t>(e.size());
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::byte>((len >> (8 * i)) & 0xff));
    for (const char c : e) out.push_back(static_cast<std::byte>(c));
  }
  return out;
}

std::vector<std::string> stringsOf(const FakeOutput& o) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos + 4 <= o.data.size()) {
    std::uint32_t len = 0;
    std::memcpy(&len, o.data.data() + pos, 4);
    out.emplace_back(reinterpret_cast<const char*>(o.data.data() + pos + 4), len);
    pos += 4 + len;
  }
  return out;
}

FakeHost::FakeHost(const std::string& className, const std::string& settingsJson, std::uint32_t hostAbiMajor) {
  host_.struct_size = sizeof(ringserve_host);
  host_.abi_major = hostAbiMajor;
  host_.abi_minor = 0;
  host_.set_error = [](ringserve_call* c, std::int32_t code, ringserve_string m) {
    c->code = code;
    c->error = s(m);
  };
  host_.allocate_output = [](ringserve_call* c, const ringserve_output_spec* spec, void** data) -> std::int32_t {
    auto o = std::make_unique<FakeOutput>();
    o->name = s(spec->name);
    o->datatype = spec->datatype;
    o->shape.assign(spec->shape, spec->shape + spec->rank);
    o->data.resize(spec->size);
    o->parametersJson = s(spec->parameters_json);
    *data = o->data.data();
    c->outputs.push_back(std::move(o));
    return RINGSERVE_OK;
  };
  host_.set_response_parameters = [](ringserve_call* c, ringserve_string j) { c->parameters = s(j); };
  host_.add_tensor_metadata = [](ringserve_call* c, std::int32_t isOutput, ringserve_string name, ringserve_string,
                                 const std::int64_t*, std::uint32_t, ringserve_string) {
    (isOutput ? c->outputsMeta : c->inputs)->push_back(s(name));
  };
  host_.log = [](ringserve_host_model*, std::int32_t, ringserve_string) {};
  host_.metric = [](ringserve_host_model* m, const ringserve_metric* metric) {
    (*m->metrics)[s(metric->name)] += metric->value;
  };
  gHostModel.metrics = &metrics;
  const std::string dir = "/tmp", implementation = "test." + className, name = "m", version = "1";
  const ringserve_model_info info{rs(className), rs(implementation), rs(name), rs(version), rs(settingsJson), rs(dir),
                                  &gHostModel};
  ringserve_call call;
  if (ringserve_model_create(&host_, &call, &info, &model_) != RINGSERVE_OK) throw std::runtime_error(call.error);
  ringserve_call load;
  if (ringserve_model_load(model_, &load) != RINGSERVE_OK) throw std::runtime_error(load.error);
  ringserve_call meta;
  meta.inputs = &reportedInputs;
  meta.outputsMeta = &reportedOutputs;
  ringserve_model_metadata(model_, &meta);
}

FakeHost::~FakeHost() {
  if (model_ == nullptr) return;
  ringserve_call call;
  ringserve_model_unload(model_, &call);
  ringserve_model_destroy(model_);
}

FakeResult FakeHost::predict(const std::vector<FakeInput>& inputs, const std::string& parametersJson) {
  std::vector<ringserve_tensor> tensors;
  for (const auto& in : inputs)
    tensors.push_back({rs(in.name), in.datatype, static_cast<std::uint32_t>(in.shape.size()), in.shape.data(),
                       in.data.data(), in.data.size(), rs(in.parametersJson)});
  const std::string id = "r1";
  ringserve_request req{rs(id), rs(parametersJson), tensors.data(), static_cast<std::uint32_t>(tensors.size()), 0, nullptr};
  ringserve_call call;
  FakeResult r;
  r.code = ringserve_model_predict(model_, &call, &req);
  r.error = call.error;
  r.parametersJson = call.parameters;
  for (auto& o : call.outputs) r.outputs.push_back(std::move(*o));
  return r;
}

}  // namespace ringserve::testing
