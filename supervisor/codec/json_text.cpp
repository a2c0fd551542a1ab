#include "supervisor/codec/json_text.hpp"

namespace ringserve::supervisor::codec {

std::string errorBody(std::string_view message) {
  std::string body = "{\"error\":";
  transport::appendJsonStringRepaired(body, message);
  body += '}';
  return body;
}

}  // namespace ringserve::supervisor::codec
