#include "supervisor/codec/json_text.hpp"

namespace ringserve::supervisor::codec {

std::string errorBody(std::string_view message) {
  std::string body = "{\"error\":";
  if (transport::validUtf8(message)) {
    appendJsonString(body, message);
  } else {
    appendJsonString(body, transport::sanitizedUtf8(message));
  }
  body += '}';
  return body;
}

}  // namespace ringserve::supervisor::codec
