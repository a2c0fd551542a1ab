// matmul.MatMul: y = x · W, advanced interface, zero copies. `load()` reads W from the file at
// parameters.uri (or `weights.txt` inside it when it is a folder):
//
//   <rows> <cols>
//   w00 w01 ...      (rows lines of cols numbers)
//
// Input `x`: FP32 [N, rows] (or [rows] for one row). Output `y`: FP32 [N, cols], written straight
// into shared memory.
#include <ringserve/ringserve.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

class MatMul : public ringserve::Model {
 public:
  void load() override {
    std::filesystem::path path = settings().uri.empty() ? settings().modelDir : settings().uri;
    if (path.is_relative()) path = std::filesystem::path(settings().modelDir) / path;  // MLServer: relative to the settings file
    if (std::filesystem::is_directory(path)) path /= "weights.txt";
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open weights file " + path.string());
    if (!(in >> rows_ >> cols_) || rows_ <= 0 || cols_ <= 0 || rows_ > 4096 || cols_ > 4096)
      throw std::runtime_error(path.string() + ": the first line must be '<rows> <cols>' (1..4096 each)");
    weights_.resize(static_cast<std::size_t>(rows_ * cols_));
    for (auto& w : weights_)
      if (!(in >> w)) throw std::runtime_error(path.string() + ": expected " + std::to_string(rows_ * cols_) + " weights");
    log(ringserve::LogLevel::info, "loaded " + std::to_string(rows_) + "x" + std::to_string(cols_) + " weights from " +
                                       path.string());
  }

  void unload() override { weights_.clear(); }

  std::vector<ringserve::TensorMetadata> inputs() const override { return {{"x", "FP32", {-1, rows_}, ""}}; }
  std::vector<ringserve::TensorMetadata> outputs() const override { return {{"y", "FP32", {-1, cols_}, ""}}; }

  ringserve::InferenceResponse predict(const ringserve::InferenceRequest& request) override {
    const ringserve::TensorView& x = request.input("x");
    const auto shape = x.shape();
    const bool oneRow = shape.size() == 1;
    if ((!oneRow && shape.size() != 2) || shape.back() != rows_)
      throw ringserve::BadInput("input 'x' must have shape [N, " + std::to_string(rows_) + "], got " +
                                ringserve::shapeToString(shape));
    const std::int64_t n = oneRow ? 1 : shape[0];
    const std::span<const float> xs = x.as<float>();  // a view on the request arena
    ringserve::InferenceResponse response = request.response();
    const ringserve::Shape outShape = oneRow ? ringserve::Shape{cols_} : ringserve::Shape{n, cols_};
    std::span<float> y = response.allocate<float>("y", outShape);  // in the response arena
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < cols_; ++j) {
        float acc = 0;
        for (std::int64_t k = 0; k < rows_; ++k)
          acc += xs[static_cast<std::size_t>(i * rows_ + k)] * weights_[static_cast<std::size_t>(k * cols_ + j)];
        y[static_cast<std::size_t>(i * cols_ + j)] = acc;
      }
    return response;
  }

 private:
  std::int64_t rows_ = 0, cols_ = 0;
  std::vector<float> weights_;
};

}  // namespace

RINGSERVE_REGISTER_RUNTIME(MatMul)
