#pragma once
// Test helpers: the trivial server as a child process, and running the driver (or any program)
// to completion with its output captured.
#include <sys/types.h>

#include <string>
#include <vector>

namespace loadgen_test {

// Starts the test server with `args`, waits for its "PORT n" line; killed (SIGTERM) and reaped on
// destruction. If RINGSERVE_TEST_URL is set and `allowExternal`, no process is started and url()
// returns that URL instead (a real ringserve for end-to-end runs).
class TestServer {
 public:
  explicit TestServer(std::vector<std::string> args, bool allowExternal = false);
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;
  const std::string& url() const { return url_; }
  bool external() const { return pid_ <= 0; }
  // The model to name: RINGSERVE_TEST_MODEL for an external server, else `fallback`.
  std::string model(const std::string& fallback) const;

 private:
  pid_t pid_ = -1;
  std::string url_;
};

struct RunOutput {
  int exitCode = -1;
  std::string out;
  std::string err;
};

// Runs `program args...` with stdout/stderr captured into files under `dir`.
RunOutput run(const std::string& program, const std::vector<std::string>& args, const std::string& dir);

// A fresh temporary directory (removed by the caller's TempDir).
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string readAll(const std::string& path);
void writeAll(const std::string& path, const std::string& text);

}  // namespace loadgen_test
