#pragma once
// Text helpers for the error messages both front ends return (REST's JSON decoder, the response
// encoder's checks, gRPC's request decoder): one spelling of a quoted name everywhere.
#include <string>
#include <string_view>

namespace ringserve::supervisor::codec {

// 'name'. Built by appends: GCC 12 -O3 warns falsely (-Wrestrict) on "'" + std::string(...) + "'".
inline std::string quoteName(std::string_view name) {
  std::string r;
  r.reserve(name.size() + 2);
  r += '\'';
  r += name;
  r += '\'';
  return r;
}

}  // namespace ringserve::supervisor::codec
