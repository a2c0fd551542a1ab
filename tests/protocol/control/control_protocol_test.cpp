// Commands and replies through their Cap'n Proto form, request validation, and client output.
#include <gtest/gtest.h>

#include <cstring>

#include "protocol/control/control_protocol.hpp"
#include "clients/ctl/ctl_format.hpp"
#include "transport/frame.hpp"

namespace ringserve::control {
using namespace ringserve::ctl;
namespace {

std::vector<capnp::word> wordsOf(capnp::MessageBuilder& message) {
  auto bytes = transport::encodeStreamFrame(message);
  std::vector<capnp::word> words((bytes.size() - 4) / sizeof(capnp::word));
  std::memcpy(words.data(), bytes.data() + 4, bytes.size() - 4);
  return words;
}

Command roundTrip(const Command& c) {
  capnp::MallocMessageBuilder message;
  buildCommand(c, message);
  auto decoded = decodeCommand(wordsOf(message));
  EXPECT_TRUE(decoded.ok()) << (decoded.ok() ? "" : decoded.error().message);
  return decoded.ok() ? decoded.value() : Command{};
}

Reply roundTrip(const Reply& r) {
  capnp::MallocMessageBuilder message;
  buildReply(r, message);
  auto decoded = decodeReply(wordsOf(message));
  EXPECT_TRUE(decoded.ok()) << (decoded.ok() ? "" : decoded.error().message);
  return decoded.ok() ? decoded.value() : Reply{};
}

TEST(ControlProtocol, CommandsRoundTrip) {
  for (auto op : {Operation::load, Operation::reload, Operation::unload}) {
    auto c = roundTrip(Command{op, "resnet", "/models/resnet", "v2"});
    EXPECT_EQ(c.op, op);
    EXPECT_EQ(c.name, "resnet");
    EXPECT_EQ(c.path, "/models/resnet");
    EXPECT_EQ(c.version, "v2");
  }
  EXPECT_EQ(roundTrip(Command{Operation::list, "", "", ""}).op, Operation::list);
  EXPECT_EQ(roundTrip(Command{Operation::status, "", "", ""}).op, Operation::status);
}

TEST(ControlProtocol, RepliesRoundTrip) {
  auto ok = roundTrip(Reply::ok("loaded"));
  EXPECT_EQ(ok.kind, Reply::Kind::ok);
  EXPECT_EQ(ok.message, "loaded");
  auto err = roundTrip(Reply::error("Model x not found"));
  EXPECT_EQ(err.kind, Reply::Kind::error);
  EXPECT_EQ(err.message, "Model x not found");

  Reply list;
  list.kind = Reply::Kind::list;
  list.models = {{"a", "", ModelState::ready, "", "default"}, {"b", "v1", ModelState::unavailable, "boom", ""}};
  auto l = roundTrip(list);
  ASSERT_EQ(l.models.size(), 2u);
  EXPECT_EQ(l.models[1].name, "b");
  EXPECT_EQ(l.models[1].version, "v1");
  EXPECT_EQ(l.models[1].state, ModelState::unavailable);
  EXPECT_EQ(l.models[1].reason, "boom");
  EXPECT_EQ(l.models[0].pool, "default");

  Reply st;
  st.kind = Reply::Kind::status;
  st.status = ServerStatus{42, "1.2.3", 61.5, 8080, 0, 8082, "/run/x.sock",
                           {PoolStatus{"default", "", 0, {WorkerStatus{"default/0", 7, "ready", 2, 3, 10, 20, {"a", "b"}}}}}};
  auto s = roundTrip(st).status;
  EXPECT_EQ(s.pid, 42u);
  EXPECT_EQ(s.version, "1.2.3");
  EXPECT_DOUBLE_EQ(s.uptimeSeconds, 61.5);
  EXPECT_EQ(s.httpPort, 8080);
  EXPECT_EQ(s.metricsPort, 8082);
  EXPECT_EQ(s.controlSocket, "/run/x.sock");
  ASSERT_EQ(s.pools.size(), 1u);
  ASSERT_EQ(s.pools[0].workers.size(), 1u);
  const auto& w = s.pools[0].workers[0];
  EXPECT_EQ(w.id, "default/0");
  EXPECT_EQ(w.pid, 7u);
  EXPECT_EQ(w.restarts, 2u);
  EXPECT_EQ(w.inFlight, 3u);
  EXPECT_EQ(w.shmUsedBytes, 10u);
  EXPECT_EQ(w.shmSizeBytes, 20u);
  EXPECT_EQ(w.models, (std::vector<std::string>{"a", "b"}));
}

TEST(ControlProtocol, GarbageIsAnErrorValue) {
  std::vector<capnp::word> words(4);
  std::memset(static_cast<void*>(words.data()), 0xff, words.size() * sizeof(capnp::word));
  auto c = decodeCommand(words);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().kind, ProtocolError::Kind::badRequest);
  EXPECT_NE(c.error().message.find("malformed control request"), std::string::npos) << c.error().message;
  EXPECT_FALSE(decodeReply(words).ok());
}

TEST(ControlProtocol, UnknownOperationIsNamed) {
  capnp::MallocMessageBuilder message;
  buildCommand(Command{Operation::list, "", "", ""}, message);
  auto words = wordsOf(message);
  // Flat array: segment table (1 word), root pointer (1 word), then the struct's data word whose
  // first 16 bits are the union discriminant.
  auto* data = reinterpret_cast<unsigned char*>(words.data() + 2);
  data[0] = 99;
  data[1] = 0;
  auto c = decodeCommand(words);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("unsupported control operation 99"), std::string::npos) << c.error().message;
}

TEST(ControlProtocol, Validation) {
  EXPECT_EQ(validateCommand({Operation::list, "", "", ""}), "");
  EXPECT_EQ(validateCommand({Operation::load, "m", "", ""}), "");
  EXPECT_EQ(validateCommand({Operation::load, "", "/abs/m", ""}), "");
  EXPECT_EQ(validateCommand({Operation::unload, "m", "", ""}), "");
  EXPECT_NE(validateCommand({Operation::load, "", "", ""}).find("needs either a model name or a model folder path"),
            std::string::npos);
  EXPECT_NE(validateCommand({Operation::reload, "m", "/abs", ""}).find("not both"), std::string::npos);
  EXPECT_NE(validateCommand({Operation::load, "", "rel/m", ""}).find("must be absolute"), std::string::npos);
  EXPECT_NE(validateCommand({Operation::unload, "", "", ""}).find("unload needs a model name"), std::string::npos);
  EXPECT_NE(validateCommand({Operation::unload, "m", "/abs", ""}).find("not a path"), std::string::npos);
  EXPECT_NE(validateCommand({Operation::load, "m", "", "1"}).find("one version is not supported"), std::string::npos);
  EXPECT_NE(validateCommand({Operation::load, std::string(kMaxNameBytes + 1, 'x'), "", ""}).find("limit is 1024"),
            std::string::npos);
  EXPECT_NE(validateCommand({Operation::load, "", "/" + std::string(kMaxPathBytes, 'x'), ""}).find("limit is 4096"),
            std::string::npos);
  EXPECT_NE(validateCommand({Operation::load, std::string("a\0b", 3), "", ""}).find("NUL"), std::string::npos);
}

TEST(CtlFormat, ListTable) {
  Reply r;
  r.kind = Reply::Kind::list;
  r.models = {{"echo", "", ModelState::ready, "", ""}, {"matmul", "v1", ModelState::unavailable, "bad\nweights", ""}};
  EXPECT_EQ(formatText(r),
            "NAME    VERSION  STATE        REASON\n"
            "echo    -        READY\n"
            "matmul  v1       UNAVAILABLE  bad; weights\n");
  EXPECT_EQ(formatJson(r),
            R"({"models":[{"name":"echo","version":"","state":"READY","reason":""},)"
            R"({"name":"matmul","version":"v1","state":"UNAVAILABLE","reason":"bad\nweights"}]})"
            "\n");
  r.models.clear();
  EXPECT_EQ(formatText(r), "no models in the repository\n");
}

TEST(CtlFormat, StatusTableAndJson) {
  Reply r;
  r.kind = Reply::Kind::status;
  r.status = ServerStatus{42, "0.1.0", 3723, 8080, 0, 8082, "/tmp/s.sock",
                          {PoolStatus{"default", "", 0, {WorkerStatus{"default/0", 7, "ready", 1, 0, 0, 256u << 20, {"a", "b"}}}}}};
  EXPECT_EQ(formatText(r),
            "ringserve 0.1.0, pid 42, up 1h 02m 03s\n"
            "http :8080  grpc -  metrics :8082  control /tmp/s.sock\n"
            "\n"
            "POOL     WORKER     PID  STATE  RESTARTS  IN-FLIGHT  SHM      MODELS\n"
            "default  default/0  7    ready  1         0          256 MiB  a, b\n");
  EXPECT_EQ(formatJson(r),
            R"({"pid":42,"version":"0.1.0","uptime_seconds":3723.000,"http_port":8080,"grpc_port":0,)"
            R"("metrics_port":8082,"control_socket":"/tmp/s.sock","pools":[{"key":"default","environment":"",)"
            R"("environment_bytes":0,"workers":[{"id":"default/0","pid":7,"state":"ready","restarts":1,)"
            R"("in_flight":0,"shm_used_bytes":0,"shm_size_bytes":268435456,"models":["a","b"]}]}]})"
            "\n");
}

TEST(CtlFormat, Helpers) {
  EXPECT_EQ(oneLine("a\nb\n"), "a; b");
  EXPECT_EQ(oneLine("not found; looked for:\n  /a.so\n  /b.so"), "not found; looked for: /a.so; /b.so");
  EXPECT_EQ(oneLine("tab\there"), "tab here");
  EXPECT_EQ(humanBytes(512), "512 B");
  EXPECT_EQ(humanBytes(1536), "1.5 KiB");
  EXPECT_EQ(humanBytes(256ull << 20), "256 MiB");
  EXPECT_EQ(humanDuration(5), "5s");
  EXPECT_EQ(humanDuration(65), "1m 05s");
  EXPECT_EQ(humanDuration(90061), "1d 01h 01m");
  Reply e = Reply::error("x\ny");
  EXPECT_EQ(formatText(e), "error: x; y\n");
  EXPECT_EQ(formatJson(Reply::ok("lo\"aded")), "{\"ok\":\"lo\\\"aded\"}\n");
}

}  // namespace
}  // namespace ringserve::control
