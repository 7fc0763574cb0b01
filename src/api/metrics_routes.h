// GET /metrics: every metric in Prometheus text format 0.0.4. Open like the health routes
// (no key, no rate limit) unless --protect-health: a Prometheus server scrapes it.
#pragma once

#include "api/request_handler.h"

namespace mms::api {

void RegisterMetricsRoutes(Router& router, RouteContext& context);

}  // namespace mms::api
