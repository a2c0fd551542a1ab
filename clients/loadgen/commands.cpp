#include "clients/loadgen/commands.hpp"

#include <cstdlib>
#include <iostream>
#include <memory>

#include "clients/loadgen/bench_command.hpp"
#include "clients/loadgen/error.hpp"
#include "clients/loadgen/infer_run.hpp"

namespace ringserve::loadgen {
namespace {

// The one place where the module's errors become an exit status and a one-line reason.
template <class F>
void guarded(const char* command, int& exitCode, F&& body) {
  try {
    exitCode = body();
  } catch (const LoadgenError& e) {
    std::cerr << "ringserve " << command << ": " << e.what() << "\n";
    exitCode = 2;
  } catch (const std::exception& e) {
    std::cerr << "ringserve " << command << ": " << e.what() << "\n";
    exitCode = 2;
  }
}

// Environment fallbacks for `infer`: RINGSERVE_INFER_<NAME> (CLI11's envname) and MLServer's
// MLSERVER_INFER_<NAME>, which only supplies the default.
CLI::Option* env(CLI::Option* opt, const std::string& name) {
  opt->envname("RINGSERVE_INFER_" + name);
  if (const char* v = std::getenv(("MLSERVER_INFER_" + name).c_str())) {
    opt->default_val(std::string(v));
    opt->required(false);  // a default does not count as given
  }
  return opt;
}

}  // namespace

void addBenchCommand(CLI::App& app, int& exitCode) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* sub = app.add_subcommand(
      "bench", "Load-test an Open Inference Protocol (KServe V2) server over REST or gRPC: requests/s, errors by status, "
               "latency percentiles; CSV and SVG output");
  sub->add_option("-u,--url", o->url, "Server URL")->capture_default_str();
  sub->add_option("-m,--model", o->model, "Model name")->required();
  sub->add_option("--model-version", o->modelVersion, "Model version (default: the server's default version)");
  sub->add_option("-i,--input", o->inputFile, "V2 request body to send (a JSON file)");
  sub->add_option("--shape", o->shape, "Generate one input of this shape, e.g. 1,16");
  sub->add_option("--datatype", o->datatype, "Datatype of the generated input")->capture_default_str();
  sub->add_option("--input-name", o->inputName, "Name of the generated input")->capture_default_str();
  sub->add_flag("-b,--binary", o->binary, "Send inputs with the binary tensor extension");
  sub->add_flag("--binary-output", o->binaryOutput, "Ask for binary outputs (binary_data_output)");
  sub->add_option("-c,--concurrency", o->concurrency,
                  "Requests in flight (closed loop; default 1), or their cap with --rate (default 32)");
  sub->add_option("--connections", o->connections, "TCP connections (default: concurrency; fewer pipelines requests)");
  sub->add_option("-t,--threads", o->threads, "Client threads")->capture_default_str();
  sub->add_option("-r,--rate", o->rate, "Open loop: requests per second at fixed intervals (latency from the scheduled time)");
  sub->add_option("-d,--duration", o->duration, "Seconds to measure")->capture_default_str();
  sub->add_option("-n,--requests", o->requests, "Requests to measure (instead of --duration)");
  sub->add_option("--warmup", o->warmup, "Seconds of unmeasured warm-up")->capture_default_str();
  sub->add_option("--timeout", o->timeout, "Seconds before a request counts as failed")->capture_default_str();
  sub->add_option("-H,--header", o->headers, "Extra request header Name:value (repeatable)");
  sub->add_option("--sweep-concurrency", o->sweepConcurrency, "Run once per concurrency, e.g. 1,2,4,8");
  sub->add_option("--sweep-size", o->sweepSize, "Run once per tensor size in bytes, e.g. 64,4K,1M");
  sub->add_option("--csv", o->csv, "Write results as CSV (per second, or per sweep step)");
  sub->add_option("--svg", o->svg, "Write an SVG plot of throughput and latency percentiles");
  sub->add_flag("-q,--quiet", o->quiet, "No progress line");
  sub->add_option("--protocol", o->protocol,
                  "rest, or grpc: inference.GRPCInferenceService/ModelInfer (-u host:port, default 127.0.0.1:8081)")
      ->capture_default_str();
  sub->add_flag("--typed", o->typed, "gRPC: send typed contents instead of raw_input_contents");
  sub->callback([o, &exitCode] {
    // The REST default URL names the REST port; gRPC's default port is 8081.
    if (o->protocol == "grpc" && o->url == BenchOptions{}.url) o->url = "127.0.0.1:8081";
    guarded("bench", exitCode, [&] { return runBenchCommand(*o); });
  });
}

void addInferCommand(CLI::App& app, int& exitCode) {
  auto o = std::make_shared<InferOptions>();
  CLI::App* sub = app.add_subcommand(
      "infer", "Send the V2 requests of a JSON-lines file to a server and write the responses as JSON lines in input "
               "order (MLServer's `infer`)");
  env(sub->add_option("-u,--url", o->url, "Server URL")->capture_default_str(), "URL");
  env(sub->add_option("-m,--model-name", o->model, "Model name")->required(), "MODEL_NAME");
  env(sub->add_option("--model-version", o->modelVersion, "Model version"), "MODEL_VERSION");
  env(sub->add_option("-i,--input-data-path", o->input, "Input file: one V2 request per line")->required(),
      "INPUT_DATA_PATH");
  env(sub->add_option("-o,--output-data-path", o->output, "Output file: one response per line")->required(),
      "OUTPUT_DATA_PATH");
  env(sub->add_option("-w,--workers", o->workers, "Requests in flight")->capture_default_str(), "WORKERS");
  env(sub->add_option("-r,--retries", o->retries,
                      "Retries after the first attempt, for 429/502/503/504, timeouts and connection errors")
          ->capture_default_str(),
      "RETRIES");
  env(sub->add_option("--retry-backoff", o->retryBackoff, "Seconds before the first retry, doubling after")
          ->capture_default_str(),
      "RETRY_BACKOFF");
  env(sub->add_option("-s,--batch-size", o->batchSize, "Lines merged into one request along the first axis")
          ->capture_default_str(),
      "BATCH_SIZE");
  env(sub->add_flag("-b,--binary-data", o->binaryData, "Binary tensor extension for inputs and outputs"), "BINARY_DATA");
  sub->add_flag("-v,--verbose", o->verbosity, "Log retries and failures; -vv logs every request");
  env(sub->add_option("-t,--transport,--protocol", o->transport,
                      "rest, or grpc (ModelInfer; -u host:port, default localhost:8081; -b sends raw contents)")
          ->capture_default_str(),
      "TRANSPORT");
  env(sub->add_option("-H,--request-headers", o->headers, "Extra header Name:value or Name=value (repeatable)"),
      "REQUEST_HEADERS");
  env(sub->add_option("--timeout", o->timeout, "Seconds per request")->capture_default_str(), "TIMEOUT");
  env(sub->add_option("--batch-interval", o->batchInterval, "Seconds a worker waits between its requests")
          ->capture_default_str(),
      "BATCH_INTERVAL");
  env(sub->add_option("--batch-jitter", o->batchJitter, "Up to this many extra seconds at random")->capture_default_str(),
      "BATCH_JITTER");
  env(sub->add_flag("--use-ssl", o->useSsl, "TLS (not supported)"), "USE_SSL");
  env(sub->add_flag("--insecure", o->insecure, "Skip TLS verification (accepted for compatibility)"), "INSECURE");
  sub->add_flag("-q,--quiet", o->quiet, "No progress bar");
  sub->callback([o, &exitCode] {
    if (o->transport == "grpc" && o->url == InferOptions{}.url) o->url = "localhost:8081";
    guarded("infer", exitCode, [&] { return runInferCommand(*o); });
  });
}

}  // namespace ringserve::loadgen
