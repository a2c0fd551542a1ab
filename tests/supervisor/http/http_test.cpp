// The REST front end's own decisions, without a server: which endpoint a path names (route.hpp)
// and the one mapping from error kinds to HTTP statuses (error_status.hpp). The whole
// server over real sockets is tests/e2e/test_rest.py.
#include <gtest/gtest.h>

#include "supervisor/http/error_status.hpp"
#include "supervisor/http/route.hpp"

namespace ringserve::supervisor {
namespace {

TEST(Route, HealthMetadataAndRepository) {
  EXPECT_EQ(matchRoute("/v2").kind, RouteKind::serverMetadata);
  EXPECT_EQ(matchRoute("/v2/health/live").kind, RouteKind::live);
  EXPECT_EQ(matchRoute("/v2/health/ready?x=1").kind, RouteKind::ready);
  EXPECT_EQ(matchRoute("/v2/health/other").kind, RouteKind::notFound);
  EXPECT_EQ(matchRoute("/v2/repository/index").pattern, "/v2/repository/index");
  auto load = matchRoute("/v2/repository/models/m%2F1/load");
  EXPECT_EQ(load.kind, RouteKind::repositoryLoad);
  EXPECT_EQ(load.model, "m/1");
  EXPECT_EQ(load.pattern, "/v2/repository/models/{name}/load");
  EXPECT_EQ(matchRoute("/v2/repository/models/m/unload").kind, RouteKind::repositoryUnload);
  EXPECT_EQ(matchRoute("/v1/models/m").kind, RouteKind::notFound);
}

TEST(Route, ModelsVersionsAndVerbs) {
  auto meta = matchRoute("/v2/models/echo");
  EXPECT_EQ(meta.kind, RouteKind::modelMetadata);
  EXPECT_EQ(meta.model, "echo");
  EXPECT_EQ(meta.version, "");
  auto infer = matchRoute("/v2/models/matmul/versions/2/infer");
  EXPECT_EQ(infer.kind, RouteKind::infer);
  EXPECT_EQ(infer.version, "2");
  EXPECT_EQ(infer.pattern, "/v2/models/{name}/versions/{version}/infer");
  EXPECT_EQ(matchRoute("/v2/models/m/generate").kind, RouteKind::infer);
  EXPECT_EQ(matchRoute("/v2/models/m/ready").kind, RouteKind::modelReady);
  auto unknown = matchRoute("/v2/models/m/explain");
  EXPECT_EQ(unknown.kind, RouteKind::notFound);
  EXPECT_EQ(unknown.model, "");  // nothing of a refused path is kept
}

TEST(Route, TritonConfigurationAndStatistics) {
  auto config = matchRoute("/v2/models/matmul/versions/2/config");
  EXPECT_EQ(config.kind, RouteKind::modelConfig);
  EXPECT_EQ(config.version, "2");
  EXPECT_EQ(config.pattern, "/v2/models/{name}/versions/{version}/config");
  auto stats = matchRoute("/v2/models/echo/stats");
  EXPECT_EQ(stats.kind, RouteKind::modelStats);
  EXPECT_EQ(stats.model, "echo");
  EXPECT_EQ(stats.pattern, "/v2/models/{name}/stats");
  // Every model, as Triton: a model named "stats" keeps its other routes but not this one.
  auto all = matchRoute("/v2/models/stats?x=1");
  EXPECT_EQ(all.kind, RouteKind::modelStats);
  EXPECT_EQ(all.model, "");
  EXPECT_EQ(all.pattern, "/v2/models/stats");
  EXPECT_EQ(matchRoute("/v2/models/stats/ready").model, "stats");
  EXPECT_EQ(matchRoute("/v2/models/stats/stats").model, "stats");
  EXPECT_EQ(matchRoute("/v2/models/m/config/x").kind, RouteKind::notFound);
}

TEST(Route, PercentDecodingKeepsEveryByte) {
  EXPECT_EQ(matchRoute("/v2/models/a%20b/infer").model, "a b");
  const auto nul = matchRoute("/v2/models/echo%00junk/infer");
  EXPECT_EQ(nul.model, std::string("echo\0junk", 9));
}

TEST(ErrorStatus, EveryKindMapsOnce) {
  EXPECT_EQ(httpStatus(ErrorKind::badInput), 400);
  EXPECT_EQ(httpStatus(ErrorKind::notFound), 404);
  EXPECT_EQ(httpStatus(ErrorKind::tooLarge), 413);
  EXPECT_EQ(httpStatus(ErrorKind::internal), 500);
  EXPECT_EQ(httpStatus(ErrorKind::unavailable), 503);
  EXPECT_EQ(httpStatus(ErrorKind::timeout), 504);
}

// What codec/, core/ and dispatch/ report with the helpers of supervisor/error.hpp answers the
// statuses REST has always answered for them.
TEST(ErrorStatus, TheHelpersAnswerTheirStatuses) {
  EXPECT_EQ(httpStatus(badRequest("x").kind), 400);
  EXPECT_EQ(httpStatus(notFound("x").kind), 404);
  EXPECT_EQ(httpStatus(tooLarge("x").kind), 413);
  EXPECT_EQ(httpStatus(internalError("x").kind), 500);
  EXPECT_EQ(httpStatus(unavailable("x").kind), 503);
  EXPECT_EQ(httpStatus(timedOut("x").kind), 504);
  EXPECT_EQ(httpStatus(Error{}.kind), 500);  // a default Error is internal
}

}  // namespace
}  // namespace ringserve::supervisor
