// A main() for the fuzz targets in builds without libFuzzer (GCC, the dev and asan presets): runs
// the target once on every file of the folders (or files) given, so the checked-in corpus is a
// regression test everywhere. With clang's -fsanitize=fuzzer, libFuzzer's own main is used.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
  std::size_t runs = 0;
  auto one = [&](const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    ++runs;
  };
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path p(argv[i]);
    if (std::filesystem::is_directory(p)) {
      for (const auto& e : std::filesystem::directory_iterator(p))
        if (e.is_regular_file()) one(e.path());
    } else {
      one(p);
    }
  }
  std::printf("%zu inputs ran without a crash\n", runs);
  return runs > 0 ? 0 : 1;
}
