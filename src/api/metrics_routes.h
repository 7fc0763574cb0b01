// GET /metrics: every metric in Prometheus text format 0.0.4. Open like the health routes
// (no key, no rate limit) unless --protect-health: a Prometheus server scrapes it.
#pragma once

#include "api/route_context.h"

namespace httplib {
class Server;
}

namespace mms::api {

void RegisterMetricsRoutes(httplib::Server& server, RouteContext& context);

}  // namespace mms::api
