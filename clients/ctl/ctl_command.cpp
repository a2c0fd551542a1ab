#include "clients/ctl/ctl_command.hpp"

#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include "clients/ctl/ctl_client.hpp"
#include "clients/ctl/ctl_format.hpp"

namespace ringserve::ctl {

namespace {

struct CtlOptions {
  std::string socket;
  bool json = false;
  double timeoutSeconds = 600;
  std::string name;
  std::string path;
};

int run(const CtlOptions& o, Operation op) {
  Command c;
  c.op = op;
  c.name = o.name;
  if (!o.path.empty()) {
    // The server resolves nothing against its own working folder: send an absolute path.
    std::error_code ec;
    auto abs = std::filesystem::weakly_canonical(std::filesystem::absolute(o.path), ec);
    c.path = (ec ? std::filesystem::absolute(o.path) : abs).string();
  }
  if ((op == Operation::load || op == Operation::reload) && c.name.empty() == c.path.empty()) {
    std::cerr << "ringserve ctl " << toString(op) << ": give a model NAME or --path FOLDER (one of them)\n";
    return 2;
  }
  if (auto problem = validateCommand(c); !problem.empty()) {
    std::cerr << "ringserve ctl " << toString(op) << ": " << oneLine(problem) << "\n";
    return 2;
  }
  const auto env = currentEnvironment();
  std::optional<std::filesystem::path> explicitSocket;
  if (!o.socket.empty()) explicitSocket = o.socket;
  auto socket = chooseControlSocket(explicitSocket, env);
  if (!socket) {
    std::cerr << "ringserve ctl: " << oneLine(socket.error().message) << "\n";
    return 2;
  }
  auto timeout = std::chrono::milliseconds(static_cast<long long>(o.timeoutSeconds * 1000));
  auto reply = callControl(socket.value(), c, timeout);
  if (!reply) {
    std::cerr << "ringserve ctl: " << oneLine(reply.error().message) << "\n";
    return 2;
  }
  if (reply->kind == Reply::Kind::error) {
    std::cerr << "ringserve ctl " << toString(op) << ": " << oneLine(reply->message) << "\n";
    return 1;
  }
  std::cout << (o.json ? formatJson(reply.value()) : formatText(reply.value())) << std::flush;
  return 0;
}

}  // namespace

void addCtlCommand(CLI::App& app, int& exitCode) {
  auto o = std::make_shared<CtlOptions>();
  auto* ctl = app.add_subcommand("ctl", "Control a running server through its control socket");
  ctl->require_subcommand(1);
  ctl->add_option("--socket", o->socket,
                  "Control socket of the server (default: $RINGSERVE_CONTROL_SOCKET, else the only running "
                  "server's socket in $XDG_RUNTIME_DIR/ringserve or /tmp/ringserve-<uid>)");
  ctl->add_flag("--json", o->json, "Print the reply as JSON");
  ctl->add_option("--timeout", o->timeoutSeconds, "Seconds to wait for the reply (0: no limit)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();

  auto add = [&](const char* name, const char* help, Operation op) {
    auto* sub = ctl->add_subcommand(name, help);
    sub->fallthrough();  // --socket/--json/--timeout may follow the operation
    sub->callback([o, op, &exitCode] { exitCode = run(*o, op); });
    return sub;
  };
  auto* load = add("load", "Load a model of the repository by NAME, or a model folder by --path", Operation::load);
  load->add_option("NAME", o->name, "Model name in the repository");
  load->add_option("--path", o->path, "Model folder holding model-settings.json")->excludes(load->get_option("NAME"));
  auto* reload = add("reload", "Replace a loaded model with a fresh copy (no request fails during the swap)",
                     Operation::reload);
  reload->add_option("NAME", o->name, "Model name in the repository");
  reload->add_option("--path", o->path, "Model folder holding model-settings.json")
      ->excludes(reload->get_option("NAME"));
  auto* unload = add("unload", "Unload a model: new requests get 404, in-flight ones finish", Operation::unload);
  unload->add_option("NAME", o->name, "Model name")->required();
  add("list", "List the repository's models with their states", Operation::list);
  add("status", "Show pools, workers, ports and uptime", Operation::status);
}

}  // namespace ringserve::ctl
