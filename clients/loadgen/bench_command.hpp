#pragma once
// `ringserve bench`: options as parsed by CLI11 and the command itself.
#include <cstdint>
#include <string>
#include <vector>

namespace ringserve::loadgen {

struct BenchOptions {
  std::string url = "http://127.0.0.1:8080";
  std::string model;
  std::string modelVersion;
  std::string inputFile;                // a V2 request body (JSON)
  std::string shape;                    // or a generated tensor: "1,16"
  std::string datatype = "FP32";
  std::string inputName = "input-0";
  bool binary = false;                  // binary tensor extension for inputs
  bool binaryOutput = false;            // ask for binary outputs
  unsigned concurrency = 0;             // 0 = default (1 closed loop, 32 open loop)
  unsigned connections = 0;             // 0 = concurrency
  unsigned threads = 1;
  double rate = 0;                      // open loop requests/s; 0 = closed loop
  double duration = 10;
  std::uint64_t requests = 0;
  double warmup = 1;
  double timeout = 30;
  std::vector<std::string> headers;     // "Name: value"
  std::string sweepConcurrency;         // "1,2,4,8"
  std::string sweepSize;                // "64,4K,1M" bytes of tensor data
  std::string csv;
  std::string svg;
  bool quiet = false;                   // no progress line
  std::string protocol = "rest";        // or "grpc": inference.GRPCInferenceService/ModelInfer
  bool typed = false;                   // gRPC: typed `contents` instead of raw_input_contents
};

// Runs the benchmark and prints the report; returns the exit status (0 ok, 1 when no request
// succeeded). Throws LoadgenError for bad options or files.
int runBenchCommand(const BenchOptions& o);

// "64,4K,1M" -> {64, 4096, 1048576}; throws LoadgenError.
std::vector<std::uint64_t> parseSizeList(const std::string& text);
std::vector<unsigned> parseCountList(const std::string& text);

}  // namespace ringserve::loadgen
