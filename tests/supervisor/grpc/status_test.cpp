// Every error kind (and so every helper of supervisor/error.hpp) becomes the gRPC code the front end
// promises (supervisor/grpc/README.md), with the message unchanged.
#include "supervisor/grpc/status.hpp"

#include <gtest/gtest.h>

namespace ringserve::supervisor::grpcfe {
namespace {

TEST(GrpcStatus, EveryKindHasItsCode) {
  const std::pair<ErrorKind, grpc::StatusCode> cases[] = {
      {ErrorKind::badInput, grpc::StatusCode::INVALID_ARGUMENT},
      {ErrorKind::notFound, grpc::StatusCode::NOT_FOUND},
      {ErrorKind::unavailable, grpc::StatusCode::UNAVAILABLE},
      {ErrorKind::timeout, grpc::StatusCode::DEADLINE_EXCEEDED},
      {ErrorKind::tooLarge, grpc::StatusCode::RESOURCE_EXHAUSTED},
      {ErrorKind::internal, grpc::StatusCode::INTERNAL},
  };
  for (const auto& [kind, code] : cases) {
    const auto st = toStatus(Error{kind, std::string("because ") + toString(kind)});
    EXPECT_EQ(st.error_code(), code) << toString(kind);
    EXPECT_EQ(st.error_message(), std::string("because ") + toString(kind));
  }
}

TEST(GrpcStatus, TheHelpersMapThroughTheirKind) {
  const std::pair<Error, grpc::StatusCode> cases[] = {
      {badRequest("the message"), grpc::StatusCode::INVALID_ARGUMENT},
      {notFound("the message"), grpc::StatusCode::NOT_FOUND},
      {tooLarge("the message"), grpc::StatusCode::RESOURCE_EXHAUSTED},
      {internalError("the message"), grpc::StatusCode::INTERNAL},
      {unavailable("the message"), grpc::StatusCode::UNAVAILABLE},
      {timedOut("the message"), grpc::StatusCode::DEADLINE_EXCEEDED},
  };
  for (const auto& [error, code] : cases) {
    const auto st = toStatus(error);
    EXPECT_EQ(st.error_code(), code) << toString(error.kind);
    EXPECT_EQ(st.error_message(), "the message");
  }
}

TEST(GrpcStatus, CodeNamesAreTheLabelsPrometheusClientsUse) {
  EXPECT_STREQ(codeName(grpc::StatusCode::OK), "OK");
  EXPECT_STREQ(codeName(grpc::StatusCode::NOT_FOUND), "NOT_FOUND");
  EXPECT_STREQ(codeName(grpc::StatusCode::RESOURCE_EXHAUSTED), "RESOURCE_EXHAUSTED");
  EXPECT_STREQ(codeName(grpc::StatusCode::UNIMPLEMENTED), "UNIMPLEMENTED");
}

}  // namespace
}  // namespace ringserve::supervisor::grpcfe
