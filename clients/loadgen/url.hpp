#pragma once
// Where the server is: `http://host:port[/prefix]`, or MLServer's bare `host:port`.
#include <cstdint>
#include <string>
#include <string_view>

#include <sys/socket.h>

namespace ringserve::loadgen {

struct Endpoint {
  std::string host;        // as written, for the Host header
  std::uint16_t port = 80;
  std::string basePath;    // "" or "/prefix" (no trailing slash)
  sockaddr_storage addr{};  // resolved once
  socklen_t addrLen = 0;

  std::string hostHeader() const;  // "host:port"
};

// Parses and resolves; throws LoadgenError on https, a bad port or an unknown host.
Endpoint parseEndpoint(std::string_view url);

// "/v2/models/<model>[/versions/<version>]/infer" below the base path.
std::string inferPath(const Endpoint& ep, std::string_view model, std::string_view version);

}  // namespace ringserve::loadgen
