#pragma once
// The CloudEvents headers MLServer adds to every inference request (into parameters.headers) and
// response (as HTTP headers).
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ringserve::supervisor::codec {

// Ce-Specversion 0.3, Ce-Source io.seldon.serving.deployment.<serverName>, Ce-Type
// io.seldon.serving.inference.request|response, Ce-Modelid, Ce-Inferenceservicename, Ce-Endpoint
// (= model name), Ce-Id and Ce-Requestid (= request id). Headers the request (or the runtime)
// already set are not repeated by the caller's choice: this only builds the list.
std::vector<std::pair<std::string, std::string>> cloudEventsHeaders(std::string_view serverName,
                                                                    std::string_view modelName,
                                                                    std::string_view requestId, bool response);

}  // namespace ringserve::supervisor::codec
