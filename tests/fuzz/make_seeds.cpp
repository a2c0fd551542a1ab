// Writes the seed corpus of the fuzz targets (tests/fuzz/corpus/<target>/): valid inputs of every
// form each target reads, so coverage-guided fuzzing starts inside the formats instead of having
// to find Cap'n Proto framing or JSON by chance. Run once after a format change:
//   build/dev/bin/fuzz_make_seeds tests/fuzz/corpus
// The seeds are checked in (small, fixed) and replayed by every build (`fuzz_*_corpus` tests).
#include <capnp/message.h>
#include <capnp/serialize.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "protocol/control/control_protocol.hpp"
#include "worker.capnp.h"

namespace fs = std::filesystem;
using namespace ringserve;

namespace {

void write(const fs::path& dir, const std::string& name, const std::string& bytes) {
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << bytes;
}

std::string flat(capnp::MessageBuilder& m) {
  auto words = capnp::messageToFlatArray(m);
  auto bytes = words.asBytes();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

void requestSeeds(const fs::path& dir) {
  auto json = [](const std::string& body) { return std::string("\0\0\0", 3) + body; };
  write(dir, "json-fp32", json(R"({"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2.5,-3]}]})"));
  write(dir, "json-every-type",
        json(R"({"id":"a","parameters":{"content_type":"np"},"inputs":[)"
             R"({"name":"b","shape":[2],"datatype":"BOOL","data":[true,0]},)"
             R"({"name":"i","shape":[2,1],"datatype":"INT64","data":[[-9007199254740993],[7]]},)"
             R"({"name":"h","shape":[1],"datatype":"FP16","data":[65504]},)"
             R"({"name":"g","shape":[1],"datatype":"BF16","data":[null]},)"
             R"({"name":"s","shape":[2],"datatype":"BYTES","data":["h\u00e9",""]}],)"
             R"("outputs":[{"name":"x","parameters":{"binary_data":true}}]})"));
  const std::string header =
      R"({"inputs":[{"name":"a","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":8}},)"
      R"({"name":"s","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":6}}]})";
  std::string binary(1, '\1');
  binary += static_cast<char>(header.size() & 0xff);
  binary += static_cast<char>(header.size() >> 8);
  const float f[2] = {1.5f, -2.0f};
  binary += header + std::string(reinterpret_cast<const char*>(f), 8) + std::string("\x02\0\0\0ab", 6);
  write(dir, "binary-extension", binary);
  write(dir, "raw-fp32", std::string("\2\0\0", 3) + std::string(reinterpret_cast<const char*>(f), 8));
}

// [u16 frame words][frame] of an answer with outputs f FP32 [2,2] at arena offset 0 (16 bytes)
// and s BYTES [sRows] right after it (sSize bytes); the caller appends the arena.
std::string okResponse(const char* id, const char* parametersJson, std::int64_t sRows, std::uint64_t sSize) {
  capnp::MallocMessageBuilder m;
  auto ok = m.initRoot<schema::InferResponse>().initOk();
  ok.setModelName("m");
  ok.setId(id);
  ok.setParametersJson(parametersJson);
  auto outs = ok.initOutputs(2);
  outs[0].setName("f");
  outs[0].setDatatype(schema::DataType::FP32);
  auto shape = outs[0].initShape(2);
  shape.set(0, 2);
  shape.set(1, 2);
  outs[0].setOffset(0);
  outs[0].setSize(16);
  outs[1].setName("s");
  outs[1].setDatatype(schema::DataType::BYTES);
  outs[1].initShape(1).set(0, sRows);
  outs[1].setOffset(16);
  outs[1].setSize(sSize);
  const std::string frame = flat(m);
  const auto words = frame.size() / 8;
  return std::string{static_cast<char>(words & 0xff), static_cast<char>(words >> 8)} + frame;
}

void responseSeeds(const fs::path& dir) {
  // [u16 frame words][frame][arena]: outputs point into the arena that follows the frame.
  const float f[4] = {1, 2, 3, 4};
  const std::string arena = std::string(reinterpret_cast<const char*>(f), 16) + std::string("\x03\0\0\0abc", 7);
  write(dir, "ok-fp32-bytes", okResponse("id", R"({"headers":{"x-a":"1"}})", 1, 7) + arena);

  capnp::MallocMessageBuilder e;
  auto err = e.initRoot<schema::InferResponse>().initError();
  err.setCode(schema::ErrorCode::BAD_INPUT);
  err.setMessage("input 'x': bad");
  const std::string errFrame = flat(e);
  write(dir, "error", std::string{static_cast<char>(errFrame.size() / 8), '\0'} + errFrame);
}

void batchSeeds(const fs::path& dir) {
  // [members-1][rows-1 per member][response as above]: two members of one row each, and a batch
  // answer of two rows (FP32 [2,2], BYTES [2]) to split between them.
  const float f[4] = {1, 2, 3, 4};
  const std::string arena =
      std::string(reinterpret_cast<const char*>(f), 16) + std::string("\x03\0\0\0abc\0\0\0\0", 11);
  const std::string body = okResponse("batch", "", 2, 11) + arena;
  write(dir, "two-members", std::string("\1\0\0", 3) + body);
  write(dir, "three-rows-for-two", std::string("\1\0\1", 3) + body);  // rows 1 + 2: the split refuses
}

void controlSeeds(const fs::path& dir) {
  using control::Command;
  using control::Operation;
  int k = 0;
  for (const Command& c : {Command{Operation::list, "", "", ""}, Command{Operation::load, "echo", "", ""},
                           Command{Operation::load, "", "/models/x", ""}, Command{Operation::unload, "m", "", "2"}}) {
    capnp::MallocMessageBuilder m;
    control::buildCommand(c, m);
    write(dir, "command-" + std::to_string(k++), std::string(1, '\0') + flat(m));
  }
  auto reply = control::Reply::ok("model echo loaded");
  capnp::MallocMessageBuilder m;
  control::buildReply(reply, m);
  write(dir, "reply-ok", std::string(1, '\1') + flat(m));
}

}  // namespace

int main(int argc, char** argv) {
  const fs::path root = argc > 1 ? argv[1] : "tests/fuzz/corpus";
  requestSeeds(root / "request_decoder");
  responseSeeds(root / "response_reader");
  controlSeeds(root / "control_protocol");
  batchSeeds(root / "batch_split");
  return 0;
}
