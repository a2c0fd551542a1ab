#include "supervisor/codec/cloud_events.hpp"

namespace ringserve::supervisor::codec {

std::vector<std::pair<std::string, std::string>> cloudEventsHeaders(std::string_view serverName,
                                                                    std::string_view modelName,
                                                                    std::string_view requestId, bool response) {
  std::vector<std::pair<std::string, std::string>> h;
  h.emplace_back("Ce-Specversion", "0.3");
  h.emplace_back("Ce-Source", "io.seldon.serving.deployment." + std::string(serverName));
  h.emplace_back("Ce-Type", std::string("io.seldon.serving.inference.") + (response ? "response" : "request"));
  h.emplace_back("Ce-Modelid", std::string(modelName));
  h.emplace_back("Ce-Inferenceservicename", std::string(serverName));
  h.emplace_back("Ce-Endpoint", std::string(modelName));
  h.emplace_back("Ce-Id", std::string(requestId));
  h.emplace_back("Ce-Requestid", std::string(requestId));
  return h;
}

}  // namespace ringserve::supervisor::codec
