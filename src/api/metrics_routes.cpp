#include "api/metrics_routes.h"

namespace mms::api {

void RegisterMetricsRoutes(Router& router, RouteContext& ctx) {
  router.Add("GET", "/metrics", [&ctx](const HttpRequest&, HttpResponse& res, RequestInfo&) {
    res.SetContent(ctx.metrics.Exposition(ctx.repository), runtime::Metrics::kContentType);
  }, SimpleErrorBody, RouteAccess::kOpen, RouteExecution::kInline);
}

}  // namespace mms::api
