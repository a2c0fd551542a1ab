#include "supervisor/codec/request_frame.hpp"

#include <capnp/message.h>

#include "transport/frame.hpp"
#include "worker.capnp.h"

namespace ringserve::supervisor::codec {
namespace {

capnp::Text::Reader asText(const std::string& s) { return {s.data(), s.size()}; }

}  // namespace

Expected<FrameLocation> writeRequestFrame(const DecodedRequest& request, std::uint32_t modelHandle,
                                          ArenaTarget& target) {
  capnp::MallocMessageBuilder message;
  auto root = message.initRoot<schema::InferRequest>();
  root.setModelHandle(modelHandle);
  root.setId(asText(request.id));
  root.setParametersJson(asText(request.parametersJson));
  auto inputs = root.initInputs(static_cast<unsigned>(request.inputs.size()));
  for (unsigned k = 0; k < request.inputs.size(); ++k) {
    const auto& in = request.inputs[k];
    auto ref = inputs[k];
    ref.setName(asText(in.name));
    ref.setDatatype(in.datatype);
    auto shape = ref.initShape(static_cast<unsigned>(in.shape.size()));
    for (unsigned d = 0; d < in.shape.size(); ++d) shape.set(d, in.shape[d]);
    ref.setOffset(in.offset);
    ref.setSize(in.size);
    ref.setParametersJson(asText(in.parametersJson));
  }
  auto outputs = root.initOutputs(static_cast<unsigned>(request.outputs.size()));
  for (unsigned k = 0; k < request.outputs.size(); ++k) {
    outputs[k].setName(asText(request.outputs[k].name));
    outputs[k].setParametersJson(asText(request.outputs[k].parametersJson));
  }
  const std::uint64_t size = transport::frameSize(message);
  auto block = target.allocate(size);
  if (!block) return block.error();
  transport::writeFrame(message, block->bytes);
  return FrameLocation{block->offset, size};
}

}  // namespace ringserve::supervisor::codec
