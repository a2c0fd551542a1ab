// The request path's one error type (supervisor/error.hpp): each helper says its kind and keeps
// the message. What a kind becomes at the edges is tested there: HTTP statuses in
// tests/supervisor/http/http_test.cpp, gRPC codes in tests/supervisor/grpc/status_test.cpp.
#include <gtest/gtest.h>

#include "supervisor/error.hpp"

namespace ringserve::supervisor {
namespace {

TEST(ErrorKind, EachHelperSaysItsKind) {
  EXPECT_EQ(badRequest("x").kind, ErrorKind::badInput);
  EXPECT_EQ(notFound("x").kind, ErrorKind::notFound);
  EXPECT_EQ(unavailable("x").kind, ErrorKind::unavailable);
  EXPECT_EQ(timedOut("x").kind, ErrorKind::timeout);
  EXPECT_EQ(tooLarge("x").kind, ErrorKind::tooLarge);
  EXPECT_EQ(internalError("x").kind, ErrorKind::internal);
  EXPECT_EQ(Error{}.kind, ErrorKind::internal);
  const Error e = notFound("Model m not found");
  EXPECT_EQ(e.message, "Model m not found");
}

TEST(ErrorKind, Names) {
  EXPECT_STREQ(toString(ErrorKind::badInput), "badInput");
  EXPECT_STREQ(toString(ErrorKind::notFound), "notFound");
  EXPECT_STREQ(toString(ErrorKind::unavailable), "unavailable");
  EXPECT_STREQ(toString(ErrorKind::timeout), "timeout");
  EXPECT_STREQ(toString(ErrorKind::tooLarge), "tooLarge");
  EXPECT_STREQ(toString(ErrorKind::internal), "internal");
}

}  // namespace
}  // namespace ringserve::supervisor
