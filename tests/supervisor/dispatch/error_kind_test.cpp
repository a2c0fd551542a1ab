// The boundary between the ApiError statuses codec/ and core/ report and the inference path's kinds.
#include <gtest/gtest.h>

#include "supervisor/dispatch/error_kind.hpp"

namespace ringserve::supervisor::dispatch {
namespace {

TEST(ErrorKind, FromTheStatusesBelow) {
  EXPECT_EQ(kindOf(badRequest("x")), ErrorKind::badInput);
  EXPECT_EQ(kindOf(notFound("x")), ErrorKind::notFound);
  EXPECT_EQ(kindOf(unavailable("x")), ErrorKind::unavailable);
  EXPECT_EQ(kindOf(ApiError{413, "x"}), ErrorKind::tooLarge);
  EXPECT_EQ(kindOf(ApiError{504, "x"}), ErrorKind::timeout);
  EXPECT_EQ(kindOf(internalError("x")), ErrorKind::internal);
  EXPECT_EQ(kindOf(ApiError{418, "x"}), ErrorKind::internal);
  const Failure f = failureOf(notFound("Model m not found"));
  EXPECT_EQ(f.kind, ErrorKind::notFound);
  EXPECT_EQ(f.message, "Model m not found");
  EXPECT_STREQ(toString(ErrorKind::tooLarge), "tooLarge");
}

}  // namespace
}  // namespace ringserve::supervisor::dispatch
