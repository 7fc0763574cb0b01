#include "api/metrics_routes.h"

#include <httplib.h>

#include "api/request_handler.h"

namespace mms::api {

void RegisterMetricsRoutes(httplib::Server& server, RouteContext& ctx) {
  server.Get("/metrics", WrapRoute("/metrics", [&ctx](const httplib::Request&, httplib::Response& res, RequestInfo&) {
    res.set_content(ctx.metrics.Exposition(ctx.repository), runtime::Metrics::kContentType);
  }, SimpleErrorBody, ctx, RouteAccess::kOpen));
}

}  // namespace mms::api
