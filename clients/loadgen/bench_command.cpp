#include "clients/loadgen/bench_command.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "clients/loadgen/binary_codec.hpp"
#include "clients/loadgen/error.hpp"
#include "clients/loadgen/grpc_bench.hpp"
#include "clients/loadgen/grpc_calls.hpp"
#include "clients/loadgen/grpc_codec.hpp"
#include "clients/loadgen/probe.hpp"
#include "clients/loadgen/progress.hpp"
#include "clients/loadgen/report.hpp"
#include "clients/loadgen/request_body.hpp"
#include "clients/loadgen/v2_json.hpp"

namespace ringserve::loadgen {
namespace {

std::vector<std::string_view> splitList(std::string_view text) {
  std::vector<std::string_view> parts;
  while (!text.empty()) {
    const auto comma = text.find(',');
    parts.push_back(text.substr(0, comma));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return parts;
}

std::string readFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw LoadgenError("cannot read " + path);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// What one step sends over gRPC: a serialized ModelInferRequest for a given payload size (0 = as
// configured), raw_input_contents unless --typed.
std::string makeGrpcRequest(const BenchOptions& o, std::uint64_t sizeBytes) {
  V2Request r;
  if (sizeBytes > 0) {
    const std::size_t elem = datatypeSize(o.datatype);
    const std::uint64_t n = std::max<std::uint64_t>(1, sizeBytes / (elem ? elem : 16));
    r = generateRequest({1, std::int64_t(n)}, o.datatype, o.inputName);
  } else if (!o.inputFile.empty()) {
    r = parseRequestJson(readFile(o.inputFile));
  } else {
    r = generateRequest(parseShape(o.shape), o.datatype, o.inputName);
  }
  return toGrpcRequest(r, o.model, o.modelVersion, !o.typed).SerializeAsString();
}

// The pre-flight call over gRPC: an unreachable server is a LoadgenError, an error a warning.
void grpcTrial(const BenchOptions& o, const HeaderList& metadata, const std::string& request) {
  AsyncInferCalls calls(grpcChannel(grpcTarget(o.url)));
  calls.start(grpc::Slice(request), 0, 0, o.timeout, metadata);
  AsyncInferCalls::Finished f;
  while (!calls.next(std::chrono::system_clock::now() + std::chrono::seconds(1), f)) {
  }
  if (f.status.ok()) return;
  const GrpcOutcome out = outcomeOf(f.status, calls.channel());
  if (out.status == 0 && out.error != "timeout") throw LoadgenError("cannot reach " + o.url + ": " + out.message);
  std::cerr << "warning: a trial request got gRPC " << codeName(f.status.error_code()) << ": " << out.message << "\n";
}

// What one step sends: the body for a given payload size (0 = as configured).
EncodedBody makeBody(const BenchOptions& o, std::uint64_t sizeBytes) {
  if (sizeBytes > 0) {
    const std::size_t elem = datatypeSize(o.datatype);
    const std::uint64_t n = std::max<std::uint64_t>(1, sizeBytes / (elem ? elem : 16));  // BYTES: 16 B/element
    return encodeRequest(generateRequest({1, std::int64_t(n)}, o.datatype, o.inputName), o.binary, o.binaryOutput);
  }
  if (!o.inputFile.empty()) {
    std::string json = readFile(o.inputFile);
    while (!json.empty() && (json.back() == '\n' || json.back() == '\r' || json.back() == ' ')) json.pop_back();
    const V2Request parsed = parseRequestJson(json);  // validates, and is what --binary sends
    if (!o.binary && !o.binaryOutput) {
      EncodedBody b;
      b.bytes = std::move(json);  // sent exactly as written
      b.jsonLength = b.bytes.size();
      return b;
    }
    return encodeRequest(parsed, o.binary, o.binaryOutput);
  }
  return encodeRequest(generateRequest(parseShape(o.shape), o.datatype, o.inputName), o.binary, o.binaryOutput);
}

}  // namespace

std::vector<std::uint64_t> parseSizeList(const std::string& text) {
  std::vector<std::uint64_t> out;
  for (std::string_view p : splitList(text)) {
    std::uint64_t mult = 1;
    if (!p.empty() && (p.back() == 'K' || p.back() == 'k')) mult = 1024;
    else if (!p.empty() && (p.back() == 'M' || p.back() == 'm')) mult = 1024 * 1024;
    if (mult != 1) p.remove_suffix(1);
    std::uint64_t v = 0;
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
    if (ec != std::errc() || ptr != p.data() + p.size() || v == 0 || v > (1ULL << 40) / mult)
      throw LoadgenError("bad size list '" + text + "' (expected sizes in bytes like 64,4K,1M)");
    out.push_back(v * mult);
  }
  if (out.empty()) throw LoadgenError("empty size list");
  return out;
}

std::vector<unsigned> parseCountList(const std::string& text) {
  std::vector<unsigned> out;
  for (std::string_view p : splitList(text)) {
    unsigned v = 0;
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
    if (ec != std::errc() || ptr != p.data() + p.size() || v == 0 || v > 100000)
      throw LoadgenError("bad concurrency list '" + text + "' (expected positive integers like 1,2,4,8)");
    out.push_back(v);
  }
  if (out.empty()) throw LoadgenError("empty concurrency list");
  return out;
}

int runBenchCommand(const BenchOptions& o) {
  if (o.model.empty()) throw LoadgenError("--model is required");
  if (!o.inputFile.empty() && !o.shape.empty()) throw LoadgenError("use either --input or --shape, not both");
  if (o.inputFile.empty() && o.shape.empty() && o.sweepSize.empty())
    throw LoadgenError("say what to send: --input FILE.json, or --shape 1,16 [--datatype FP32]");
  if (!o.sweepSize.empty() && (!o.inputFile.empty() || !o.shape.empty()))
    throw LoadgenError("--sweep-size generates [1,N] tensors; it cannot be combined with --input or --shape");
  if (!o.sweepSize.empty() && !o.sweepConcurrency.empty())
    throw LoadgenError("sweep one thing at a time: --sweep-concurrency or --sweep-size");
  if (o.rate > 0 && !o.sweepConcurrency.empty()) throw LoadgenError("--sweep-concurrency needs closed loop (no --rate)");
  if (o.rate < 0 || o.duration <= 0 || o.warmup < 0 || o.timeout <= 0)
    throw LoadgenError("--rate, --duration, --warmup and --timeout must be positive");
  if (o.threads == 0) throw LoadgenError("--threads must be at least 1");
  const bool grpc = o.protocol == "grpc";
  if (!grpc && o.protocol != "rest") throw LoadgenError("--protocol is rest or grpc, not '" + o.protocol + "'");
  if (grpc && (o.binary || o.binaryOutput))
    throw LoadgenError("--binary and --binary-output are REST's binary extension; over gRPC inputs are "
                       "raw_input_contents unless --typed");
  if (grpc && o.connections)
    throw LoadgenError("--connections is REST's; over gRPC each thread (-t) multiplexes its calls on one channel");
  if (!grpc && o.typed) throw LoadgenError("--typed is for --protocol grpc");

  const Endpoint ep = grpc ? Endpoint{} : parseEndpoint(o.url);
  HeaderList headers;
  for (const std::string& h : o.headers) headers.push_back(parseHeaderOption(h));
  const std::string path = grpc ? std::string() : inferPath(ep, o.model, o.modelVersion);

  std::vector<unsigned> concurrencies{o.concurrency ? o.concurrency : (o.rate > 0 ? 32u : 1u)};
  std::vector<std::uint64_t> sizes{0};
  std::string xName = "second";
  if (!o.sweepConcurrency.empty()) {
    concurrencies = parseCountList(o.sweepConcurrency);
    xName = "concurrency";
  }
  if (!o.sweepSize.empty()) {
    sizes = parseSizeList(o.sweepSize);
    xName = "size_bytes";
  }

  // Pre-flight: is the server there, and what does it say to this request?
  if (grpc) {
    grpcTrial(o, headers, makeGrpcRequest(o, sizes.front()));
  } else {
    const std::string request = buildHttpRequest(ep, path, headers, makeBody(o, sizes.front()));
    const Exchange e = exchangeOnce(ep, request, o.timeout);
    if (e.status == 0) throw LoadgenError("cannot reach " + o.url + ": " + e.error);
    if (e.status < 200 || e.status >= 300)
      std::cerr << "warning: a trial request got HTTP " << e.status << ": " << errorMessage(e.body) << "\n";
  }

  std::vector<ReportRow> sweepRows;
  RunResult last;
  std::uint64_t totalOk = 0;
  for (const std::uint64_t size : sizes) {
    for (const unsigned conc : concurrencies) {
      RunSpec spec;
      spec.endpoint = &ep;
      if (!grpc) spec.request = buildHttpRequest(ep, path, headers, makeBody(o, size));
      spec.concurrency = conc;
      spec.connections = o.connections && concurrencies.size() == 1 ? o.connections : conc;
      spec.threads = o.threads;
      spec.rate = o.rate;
      spec.durationS = o.duration;
      spec.requests = o.requests;
      spec.warmupS = o.warmup;
      spec.timeoutS = o.timeout;

      std::string what = o.rate > 0 ? "rate " + fmt("%.0f", o.rate) + "/s, " +
                                          (grpc ? "at most " + std::to_string(conc) + " in flight"
                                                : std::to_string(spec.connections) + " connections")
                                    : "concurrency " + std::to_string(conc);
      if (size) what += ", " + std::to_string(size) + " B tensor";
      ProgressLine line(!o.quiet);
      std::uint64_t prevOk = 0;
      std::uint64_t prevErr = 0;
      const auto onProgress = [&](double elapsed, std::uint64_t ok, std::uint64_t errors) {
        std::string text;
        if (elapsed < 0) {
          text = std::string("[warm-up ") + fmt("%.0f", -elapsed) + " s] " + what;
        } else {
          text = std::string("[") + fmt("%5.1f", elapsed) + " s] " + what + ": " + std::to_string(ok) + " ok, " +
                 std::to_string(errors) + " errors, " + fmt("%.0f", double(ok + errors - prevOk - prevErr)) + " req/s";
        }
        prevOk = ok;
        prevErr = errors;
        line.update(text);
      };
      if (grpc) {
        GrpcRunSpec g{grpcTarget(o.url), makeGrpcRequest(o, size), headers, conc, o.threads, o.rate, o.duration,
                      o.requests,         o.warmup,                 o.timeout};
        last = runGrpcBench(g, onProgress);
      } else {
        last = runBench(spec, onProgress);
      }
      line.finish();
      totalOk += last.ok;
      const std::string title = "ringserve bench: " + o.model + " at " + o.url + (grpc ? " (gRPC)" : "") + ", " + what;
      printSummary(std::cout, last, title);
      std::cout.flush();
      const double x = xName == "concurrency" ? double(conc) : double(size);
      sweepRows.push_back(rowOf(x, last.elapsedS, last.ok, last.errors(), last.latency));
    }
  }
  const bool sweep = xName != "second";
  if (sweep) {
    std::cout << "\n";
    printSweepTable(std::cout, xName, sweepRows);
  }
  const std::vector<ReportRow> rows = sweep ? sweepRows : timelineRows(last);
  const std::string title = "ringserve bench: " + o.model + " at " + o.url + (grpc ? " (gRPC)" : "") +
                            (sweep ? " over " + xName : o.rate > 0 ? ", rate " + fmt("%.0f", o.rate) + "/s"
                                                                   : ", concurrency " + std::to_string(concurrencies.front()));
  if (!o.csv.empty()) writeCsv(o.csv, xName, rows);
  if (!o.svg.empty()) writeSvg(o.svg, title, xName, rows);
  if (totalOk == 0) {
    std::cerr << "bench: no request succeeded\n";
    return 1;
  }
  return 0;
}

}  // namespace ringserve::loadgen
