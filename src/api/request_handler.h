// Wraps a route's handler with what every request gets, whatever the API: a request id
// (X-Request-ID, taken from the client or generated, echoed back), timing, metrics, one
// log line, and exceptions turned into the API's own error body with the status from
// error_mapping. Routes only write the success path. The log line carries ids, route,
// status, model, durations and error messages, never the images or texts themselves.
#pragma once

#include <functional>
#include <string>

#include "api/auth.h"
#include "api/route_context.h"
#include "base/error.h"
#include "base/logger.h"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace mms::api {

// Builds an API's error body, e.g. {"status":"error","message":...} for /predict.
using ErrorBodyFormatter = std::function<std::string(int http_status, const std::string& message)>;

using RouteFunction = std::function<void(const httplib::Request&, httplib::Response&, RequestInfo&)>;
using HttplibHandler = std::function<void(const httplib::Request&, httplib::Response&)>;

// `access` decides whether the route needs credentials and counts against rate limits.
HttplibHandler WrapRoute(std::string route, RouteFunction fn, ErrorBodyFormatter error_body, RouteContext& ctx,
                         RouteAccess access = RouteAccess::kProtected);

// {"status":"error","message":...}: the error shape of /predict and /health.
std::string SimpleErrorBody(int http_status, const std::string& message);

std::string NewRequestId();

}  // namespace mms::api
