// checksum.Checksum: a runtime that links a third-party native library (zlib). For input `data`
// (BYTES [N], or any numeric tensor, taken as one blob) it returns `crc32` and `adler32`, UINT32
// [N], computed by zlib straight from shared memory.
#include <ringserve/ringserve.hpp>

#include <zlib.h>

#include <string>

namespace {

class Checksum : public ringserve::Model {
 public:
  ringserve::InferenceResponse predict(const ringserve::InferenceRequest& request) override {
    const ringserve::TensorView& data = request.input("data");
    std::vector<std::string_view> blobs;
    if (data.datatype() == ringserve::DataType::BYTES) {
      blobs = data.elements();
    } else {
      blobs.emplace_back(reinterpret_cast<const char*>(data.bytes().data()), data.bytes().size());
    }
    ringserve::InferenceResponse response = request.response();
    const ringserve::Shape shape{static_cast<std::int64_t>(blobs.size())};
    auto crc = response.allocate<std::uint32_t>("crc32", shape);
    auto adler = response.allocate<std::uint32_t>("adler32", shape);
    for (std::size_t i = 0; i < blobs.size(); ++i) {
      const auto* p = reinterpret_cast<const Bytef*>(blobs[i].data());
      const auto n = static_cast<uInt>(blobs[i].size());
      crc[i] = static_cast<std::uint32_t>(::crc32(::crc32(0L, Z_NULL, 0), p, n));
      adler[i] = static_cast<std::uint32_t>(::adler32(::adler32(0L, Z_NULL, 0), p, n));
    }
    response.parameters().set("zlib_version", ::zlibVersion());
    return response;
  }
};

}  // namespace

RINGSERVE_REGISTER_RUNTIME(Checksum)
