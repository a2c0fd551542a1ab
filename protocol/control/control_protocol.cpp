#include "protocol/control/control_protocol.hpp"

#include <string_view>

#include "control.capnp.h"
#include "transport/frame.hpp"

namespace ringserve::control {

namespace schema = ringserve::schema;

const char* toString(Operation op) {
  switch (op) {
    case Operation::load: return "load";
    case Operation::reload: return "reload";
    case Operation::unload: return "unload";
    case Operation::list: return "list";
    case Operation::status: return "status";
  }
  return "?";
}

std::string describe(const Command& c) {
  std::string out = toString(c.op);
  if (!c.name.empty()) out += " " + c.name;
  if (!c.path.empty()) out += " --path " + c.path;
  if (!c.version.empty()) out += " (version " + c.version + ")";
  return out;
}

namespace {

kj::StringPtr text(const std::string& s) { return kj::StringPtr(s.c_str(), s.size()); }
std::string copy(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }

// Peers' strings end up in log lines, error messages and file system calls.
std::string checkField(std::string_view field, std::string_view value, std::size_t max) {
  if (value.size() > max)
    return "control request field '" + std::string(field) + "' is " + std::to_string(value.size()) +
           " bytes long; the limit is " + std::to_string(max);
  if (value.find('\0') != std::string_view::npos)
    return "control request field '" + std::string(field) + "' contains a NUL byte";
  return {};
}

}  // namespace

std::string validateCommand(const Command& c) {
  for (auto [field, value, max] :
       {std::tuple<std::string_view, std::string_view, std::size_t>{"name", c.name, kMaxNameBytes},
        {"path", c.path, kMaxPathBytes},
        {"version", c.version, kMaxNameBytes}})
    if (auto e = checkField(field, value, max); !e.empty()) return e;
  if (c.op == Operation::list || c.op == Operation::status) return {};
  const std::string op = toString(c.op);
  if (!c.version.empty())
    return op + " of one version is not supported: " + op + " acts on every version of model " + c.name;
  if (c.op == Operation::unload) {
    if (c.name.empty()) return "unload needs a model name";
    if (!c.path.empty()) return "unload takes a model name, not a path";
    return {};
  }
  if (c.name.empty() == c.path.empty()) return op + " needs either a model name or a model folder path (not both)";
  if (!c.path.empty() && c.path.front() != '/') return "model folder path '" + c.path + "' must be absolute";
  return {};
}

namespace {

void setRef(schema::ModelRef::Builder ref, const Command& c) {
  ref.setName(text(c.name));
  ref.setPath(text(c.path));
  ref.setVersion(text(c.version));
}

void readRef(schema::ModelRef::Reader ref, Command& c) {
  c.name = copy(ref.getName());
  c.path = copy(ref.getPath());
  c.version = copy(ref.getVersion());
}

ModelState fromSchema(schema::ModelState s) {
  switch (s) {
    case schema::ModelState::UNKNOWN: return ModelState::unknown;
    case schema::ModelState::READY: return ModelState::ready;
    case schema::ModelState::UNAVAILABLE: return ModelState::unavailable;
    case schema::ModelState::LOADING: return ModelState::loading;
    case schema::ModelState::UNLOADING: return ModelState::unloading;
  }
  return ModelState::unknown;  // an enumerant from a newer server
}

schema::ModelState toSchema(ModelState s) {
  switch (s) {
    case ModelState::unknown: return schema::ModelState::UNKNOWN;
    case ModelState::ready: return schema::ModelState::READY;
    case ModelState::unavailable: return schema::ModelState::UNAVAILABLE;
    case ModelState::loading: return schema::ModelState::LOADING;
    case ModelState::unloading: return schema::ModelState::UNLOADING;
  }
  return schema::ModelState::UNKNOWN;
}

template <class T>
ProtocolResult<typename T::Reader> rootOf(transport::OwnedFrame& frame, const char* what) {
  auto root = frame.root<T>();
  if (!root)
    return ProtocolError{ProtocolError::Kind::badRequest,
                         std::string("malformed ") + what + ": " + root.error().message};
  return root.value();
}

}  // namespace

void buildCommand(const Command& c, capnp::MessageBuilder& message) {
  auto req = message.initRoot<schema::ControlRequest>();
  switch (c.op) {
    case Operation::load: setRef(req.initLoad(), c); break;
    case Operation::reload: setRef(req.initReload(), c); break;
    case Operation::unload: setRef(req.initUnload(), c); break;
    case Operation::list: req.setList(); break;
    case Operation::status: req.setStatus(); break;
  }
}

ProtocolResult<Command> decodeCommand(std::vector<capnp::word> words) {
  auto frame = transport::OwnedFrame::parse(std::move(words));
  if (!frame)
    return ProtocolError{ProtocolError::Kind::badRequest, "malformed control request: " + frame.error().message};
  auto root = rootOf<schema::ControlRequest>(frame.value(), "control request");
  if (!root) return root.error();
  auto read = transport::readGuarded([&]() -> std::optional<Command> {
    Command c;
    auto req = root.value();
    switch (req.which()) {
      case schema::ControlRequest::LOAD:
        c.op = Operation::load;
        readRef(req.getLoad(), c);
        break;
      case schema::ControlRequest::RELOAD:
        c.op = Operation::reload;
        readRef(req.getReload(), c);
        break;
      case schema::ControlRequest::UNLOAD:
        c.op = Operation::unload;
        readRef(req.getUnload(), c);
        break;
      case schema::ControlRequest::LIST: c.op = Operation::list; break;
      case schema::ControlRequest::STATUS: c.op = Operation::status; break;
      default: return std::nullopt;
    }
    return c;
  });
  if (!read)
    return ProtocolError{ProtocolError::Kind::badRequest, "malformed control request: " + read.error().message};
  if (!read.value())
    return ProtocolError{ProtocolError::Kind::badRequest,
                         "unsupported control operation " +
                             std::to_string(static_cast<unsigned>(root.value().which())) +
                             " (is ringserve ctl newer than the server?)"};
  return std::move(*read.value());
}

void buildReply(const Reply& r, capnp::MessageBuilder& message) {
  auto resp = message.initRoot<schema::ControlResponse>();
  switch (r.kind) {
    case Reply::Kind::ok: resp.setOk(text(r.message)); break;
    case Reply::Kind::error: resp.setError(text(r.message)); break;
    case Reply::Kind::list: {
      auto list = resp.initList(static_cast<unsigned>(r.models.size()));
      for (unsigned i = 0; i < r.models.size(); ++i) {
        const auto& m = r.models[i];
        auto e = list[i];
        e.setName(text(m.name));
        e.setVersion(text(m.version));
        e.setState(toSchema(m.state));
        e.setReason(text(m.reason));
        e.setPool(text(m.pool));
      }
      break;
    }
    case Reply::Kind::status: {
      const auto& s = r.status;
      auto st = resp.initStatus();
      st.setPid(s.pid);
      st.setVersion(text(s.version));
      st.setUptimeSeconds(s.uptimeSeconds);
      st.setHttpPort(s.httpPort);
      st.setGrpcPort(s.grpcPort);
      st.setMetricsPort(s.metricsPort);
      st.setControlSocket(text(s.controlSocket));
      auto pools = st.initPools(static_cast<unsigned>(s.pools.size()));
      for (unsigned p = 0; p < s.pools.size(); ++p) {
        const auto& pool = s.pools[p];
        auto pb = pools[p];
        pb.setKey(text(pool.key));
        pb.setEnvironment(text(pool.environment));
        pb.setEnvironmentBytes(pool.environmentBytes);
        auto workers = pb.initWorkers(static_cast<unsigned>(pool.workers.size()));
        for (unsigned w = 0; w < pool.workers.size(); ++w) {
          const auto& wk = pool.workers[w];
          auto wb = workers[w];
          wb.setId(text(wk.id));
          wb.setPid(wk.pid);
          wb.setState(text(wk.state));
          wb.setRestarts(wk.restarts);
          wb.setInFlight(wk.inFlight);
          wb.setShmUsedBytes(wk.shmUsedBytes);
          wb.setShmSizeBytes(wk.shmSizeBytes);
          auto models = wb.initModels(static_cast<unsigned>(wk.models.size()));
          for (unsigned m = 0; m < wk.models.size(); ++m) models.set(m, text(wk.models[m]));
        }
      }
      break;
    }
  }
}

ProtocolResult<Reply> decodeReply(std::vector<capnp::word> words) {
  auto frame = transport::OwnedFrame::parse(std::move(words));
  if (!frame)
    return ProtocolError{ProtocolError::Kind::badReply, "malformed reply from the server: " + frame.error().message};
  auto root = frame.value().root<schema::ControlResponse>();
  if (!root)
    return ProtocolError{ProtocolError::Kind::badReply, "malformed reply from the server: " + root.error().message};
  auto read = transport::readGuarded([&]() -> std::optional<Reply> {
    Reply r;
    auto resp = root.value();
    switch (resp.which()) {
      case schema::ControlResponse::OK:
        r.kind = Reply::Kind::ok;
        r.message = copy(resp.getOk());
        break;
      case schema::ControlResponse::ERROR:
        r.kind = Reply::Kind::error;
        r.message = copy(resp.getError());
        break;
      case schema::ControlResponse::LIST:
        r.kind = Reply::Kind::list;
        for (auto e : resp.getList())
          r.models.push_back({copy(e.getName()), copy(e.getVersion()), fromSchema(e.getState()), copy(e.getReason()),
                              copy(e.getPool())});
        break;
      case schema::ControlResponse::STATUS: {
        r.kind = Reply::Kind::status;
        auto st = resp.getStatus();
        auto& s = r.status;
        s.pid = st.getPid();
        s.version = copy(st.getVersion());
        s.uptimeSeconds = st.getUptimeSeconds();
        s.httpPort = st.getHttpPort();
        s.grpcPort = st.getGrpcPort();
        s.metricsPort = st.getMetricsPort();
        s.controlSocket = copy(st.getControlSocket());
        for (auto pb : st.getPools()) {
          PoolStatus pool{copy(pb.getKey()), copy(pb.getEnvironment()), pb.getEnvironmentBytes(), {}};
          for (auto wb : pb.getWorkers()) {
            WorkerStatus w{copy(wb.getId()), wb.getPid(),          copy(wb.getState()),  wb.getRestarts(),
                           wb.getInFlight(), wb.getShmUsedBytes(), wb.getShmSizeBytes(), {}};
            for (auto m : wb.getModels()) w.models.push_back(copy(m));
            pool.workers.push_back(std::move(w));
          }
          s.pools.push_back(std::move(pool));
        }
        break;
      }
      default: return std::nullopt;
    }
    return r;
  });
  if (!read)
    return ProtocolError{ProtocolError::Kind::badReply, "malformed reply from the server: " + read.error().message};
  if (!read.value())
    return ProtocolError{ProtocolError::Kind::badReply,
                         "the server sent a reply this ringserve ctl does not know (is the server newer?)"};
  return std::move(*read.value());
}

}  // namespace ringserve::control
