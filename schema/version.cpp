#include "version.hpp"

namespace ringserve {

Compatibility protocolCompatibility(ProtocolVersion server, std::uint16_t oldestMinor,
                                    ProtocolVersion worker) {
  if (worker.major != server.major) return Compatibility::unsupported;
  if (worker.minor < oldestMinor) return Compatibility::unsupported;
  if (worker.minor > server.minor) return Compatibility::untested;
  return Compatibility::supported;
}

bool sdkAbiCompatible(std::uint16_t pluginMajor, std::uint16_t pluginMinor) {
  return pluginMajor == kSdkAbiMajor && pluginMinor <= kSdkAbiMinor;
}

std::string toString(ProtocolVersion v) {
  return std::to_string(v.major) + "." + std::to_string(v.minor);
}

std::string toString(Compatibility c) {
  switch (c) {
    case Compatibility::supported: return "supported";
    case Compatibility::untested: return "untested";
    case Compatibility::unsupported: return "unsupported";
  }
  return "unsupported";
}

std::string supportedProtocolRange() {
  return toString(ProtocolVersion{kProtocolMajor, kOldestProtocolMinor}) + "\u2013" +
         toString(kProtocolVersion);
}

const char* buildVersion() { return RINGSERVE_VERSION_STRING; }

}  // namespace ringserve
