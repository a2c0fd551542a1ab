#include "clients/loadgen/url.hpp"

#include <netdb.h>

#include <charconv>
#include <cstring>

#include "clients/loadgen/error.hpp"

namespace ringserve::loadgen {

std::string Endpoint::hostHeader() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Endpoint parseEndpoint(std::string_view url) {
  Endpoint ep;
  const std::string original(url);
  if (url.starts_with("https://")) throw LoadgenError("TLS is not supported (url " + original + "); use http://");
  if (url.starts_with("http://")) url.remove_prefix(7);
  else if (url.find("://") != std::string_view::npos) throw LoadgenError("unsupported scheme in url " + original);
  const auto slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  if (slash != std::string_view::npos) {
    std::string_view path = url.substr(slash);
    while (path.ends_with('/')) path.remove_suffix(1);
    ep.basePath = std::string(path);
  }
  std::string_view portText;
  if (authority.starts_with('[')) {  // [v6]:port
    const auto close = authority.find(']');
    if (close == std::string_view::npos) throw LoadgenError("bad IPv6 address in url " + original);
    ep.host = std::string(authority.substr(1, close - 1));
    authority.remove_prefix(close + 1);
    if (authority.starts_with(':')) portText = authority.substr(1);
    else if (!authority.empty()) throw LoadgenError("bad url " + original);
  } else {
    const auto colon = authority.rfind(':');
    ep.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) portText = authority.substr(colon + 1);
  }
  if (ep.host.empty()) throw LoadgenError("no host in url " + original);
  if (!portText.empty()) {
    unsigned port = 0;
    auto [end, ec] = std::from_chars(portText.data(), portText.data() + portText.size(), port);
    if (ec != std::errc() || end != portText.data() + portText.size() || port == 0 || port > 65535)
      throw LoadgenError("bad port in url " + original);
    ep.port = std::uint16_t(port);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const int rc = getaddrinfo(ep.host.c_str(), std::to_string(ep.port).c_str(), &hints, &res);
  if (rc != 0 || res == nullptr)
    throw LoadgenError("cannot resolve host '" + ep.host + "': " + gai_strerror(rc));
  std::memcpy(&ep.addr, res->ai_addr, res->ai_addrlen);
  ep.addrLen = socklen_t(res->ai_addrlen);
  freeaddrinfo(res);
  return ep;
}

std::string inferPath(const Endpoint& ep, std::string_view model, std::string_view version) {
  std::string p = ep.basePath + "/v2/models/" + std::string(model);
  if (!version.empty()) p += "/versions/" + std::string(version);
  return p + "/infer";
}

}  // namespace ringserve::loadgen
