// Every error kind (and every REST status the core reports) becomes the gRPC code the front end
// promises (supervisor/grpc/README.md), with the message unchanged.
#include "supervisor/grpc/status.hpp"

#include <gtest/gtest.h>

namespace ringserve::supervisor::grpcfe {
namespace {

using dispatch::ErrorKind;

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
    const auto st = toStatus(dispatch::Failure{kind, std::string("because ") + dispatch::toString(kind)});
    EXPECT_EQ(st.error_code(), code) << dispatch::toString(kind);
    EXPECT_EQ(st.error_message(), std::string("because ") + dispatch::toString(kind));
  }
}

TEST(GrpcStatus, RestStatusesMapThroughTheirKind) {
  const std::pair<int, grpc::StatusCode> cases[] = {
      {400, grpc::StatusCode::INVALID_ARGUMENT}, {404, grpc::StatusCode::NOT_FOUND},
      {413, grpc::StatusCode::RESOURCE_EXHAUSTED}, {500, grpc::StatusCode::INTERNAL},
      {503, grpc::StatusCode::UNAVAILABLE}, {504, grpc::StatusCode::DEADLINE_EXCEEDED},
  };
  for (const auto& [status, code] : cases) {
    const auto st = toStatus(ApiError{status, "Model m not found"});
    EXPECT_EQ(st.error_code(), code) << status;
    EXPECT_EQ(st.error_message(), "Model m not found");
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
