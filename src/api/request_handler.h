// What every request gets, whatever the API, in one place: the route table, and the
// dispatcher that the transport calls in two steps.
//
// 1. With the headers only, BeginRequest finds the route, refuses what it will never
//    accept (unknown path, wrong method, a Content-Encoding, a declared body over the
//    limit) and admits the caller (authentication, rate limit). A refused request's body
//    is never read, so a client without credentials cannot make the server buffer
//    hundreds of megabytes.
// 2. With the body read, Handle runs the route, turning exceptions into the API's own
//    error body with the status from error_mapping. Routes only write the success path.
//
// Finish writes the one log line (ids, route, status, model, duration, error message;
// never images or texts) and the metrics.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "api/auth.h"
#include "api/http_message.h"
#include "api/route_context.h"
#include "base/error.h"
#include "base/logger.h"

namespace mms::api {

// Builds an API's error body, e.g. {"status":"error","message":...} for /predict.
using ErrorBodyFormatter = std::function<std::string(int http_status, const std::string& message)>;
using RouteFunction = std::function<void(const HttpRequest&, HttpResponse&, RequestInfo&)>;

// Where a route runs. Inline routes answer on the connection thread at once (health,
// metrics, metadata: microseconds, and never behind a queue of inferences, so that a
// liveness probe is answered while every worker waits on a model); worker routes run on
// the worker pool because they may wait on a model for seconds.
enum class RouteExecution { kWorker, kInline };

struct Route {
  std::string method;   // GET or POST (HEAD is served by the GET route)
  std::string pattern;  // "/v2/models/{model}/infer": literal segments and {placeholders}
  RouteFunction handler;
  ErrorBodyFormatter error_body;
  RouteAccess access = RouteAccess::kProtected;
  RouteExecution execution = RouteExecution::kWorker;
  size_t max_body_bytes = 0;          // 0: the server's --max-body-bytes
  std::vector<std::string> segments;  // the pattern split at '/'
};

class Router {
 public:
  // The route, for settings beyond these (a smaller body limit).
  Route& Add(std::string method, std::string pattern, RouteFunction handler, ErrorBodyFormatter error_body,
             RouteAccess access = RouteAccess::kProtected, RouteExecution execution = RouteExecution::kWorker);

  struct Match {
    const Route* route = nullptr;   // null: no route for this method and path
    bool path_known = false;        // some route has this path under another method (405)
    std::vector<std::string> params;
  };
  // Routes are tried in the order they were added; a literal segment wins only by order.
  Match Find(const std::string& method, const std::string& path) const;

 private:
  std::vector<Route> routes_;
};

// One request on its way through the dispatcher.
struct Exchange {
  HttpRequest request;
  HttpResponse response;
  RequestInfo info;
  const Route* route = nullptr;  // null: answered before routing
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  std::string error_message;  // for the log line
  bool started = false;       // counted in the in-flight gauge
};

class RequestDispatcher {
 public:
  RequestDispatcher(RouteContext& ctx, const Router& router) : ctx_(ctx), router_(router) {}

  // Step 1 (headers only). `declared_body_bytes`: Content-Length when given. Returns false
  // when `ex.response` is already the answer and the body must not be read.
  bool BeginRequest(Exchange& ex, std::optional<uint64_t> declared_body_bytes);
  bool RunsInline(const Exchange& ex) const;
  // The most body bytes the exchange's route accepts.
  size_t BodyLimit(const Exchange& ex) const;
  // Step 2: the body is in ex.request.body.
  void Handle(Exchange& ex);
  // A failure the transport found itself (body over the limit or too slow, malformed
  // request), answered in the error shape of the API the path belongs to. The Error form
  // takes its status from error_mapping and counts refusals in the metrics.
  void Fail(Exchange& ex, int status, const std::string& message);
  void Fail(Exchange& ex, const Error& error, int retry_after_seconds = 0);
  // The log line and metrics. Once per exchange that gets a response.
  void Finish(Exchange& ex);

 private:
  RouteContext& ctx_;
  const Router& router_;
};

// {"status":"error","message":...}: the error shape of /predict and /health.
std::string SimpleErrorBody(int http_status, const std::string& message);
// The error body of whichever API `path` belongs to, for answers given before routing.
std::string ErrorBodyForPath(const std::string& path, int status, const std::string& message);

std::string NewRequestId();

}  // namespace mms::api
