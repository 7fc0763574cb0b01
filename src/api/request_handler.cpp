#include "api/request_handler.h"

#include <httplib.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <random>

#include "api/error_mapping.h"

namespace mms::api {

std::string NewRequestId() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  char buf[33];
  std::snprintf(buf, sizeof(buf), "%016llx%016llx", static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(rng()));
  return buf;
}

std::string SimpleErrorBody(int, const std::string& message) {
  return nlohmann::json{{"status", "error"}, {"message", message}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

namespace {

// A client-supplied id is echoed only if it is short and printable, so it cannot
// inject headers or log lines.
std::string RequestIdFrom(const httplib::Request& req) {
  const std::string given = req.get_header_value("X-Request-ID");
  if (given.empty() || given.size() > 128) return NewRequestId();
  for (unsigned char c : given) {
    if (c < 0x21 || c > 0x7e) return NewRequestId();
  }
  return given;
}

}  // namespace

HttplibHandler WrapRoute(std::string route, RouteFunction fn, ErrorBodyFormatter error_body, RouteContext& ctx,
                         RouteAccess access) {
  return [route = std::move(route), fn = std::move(fn), error_body = std::move(error_body), &ctx, access](
             const httplib::Request& req, httplib::Response& res) {
    Logger& logger = ctx.logger;
    const auto start = std::chrono::steady_clock::now();
    ctx.metrics.RequestStarted();
    RequestInfo info;
    info.request_id = RequestIdFrom(req);
    res.set_header("X-Request-ID", info.request_id);
    std::string error_message;
    int retry_after_seconds = 0;
    try {
      info.principal = ctx.access.Admit(req, access, &retry_after_seconds);
      fn(req, res, info);
      if (res.status == -1) res.status = 200;  // httplib fills in 200 only after we return
    } catch (const Error& e) {
      res.status = HttpStatusFor(e.code());
      error_message = e.what();
      ctx.metrics.CountRejection(e.code());
      if (e.code() == ErrorCode::kUnauthenticated) res.set_header("WWW-Authenticate", "Bearer realm=\"mmserve\"");
      if (e.code() == ErrorCode::kRateLimited) res.set_header("Retry-After", std::to_string(retry_after_seconds));
    } catch (const std::bad_alloc&) {
      res.status = 503;
      error_message = "out of memory while serving the request";
    } catch (const std::exception& e) {
      res.status = 500;
      error_message = std::string("internal error: ") + e.what();
    }
    if (!error_message.empty()) res.set_content(error_body(res.status, error_message), "application/json");
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ctx.metrics.RequestFinished(route, res.status, info.model, seconds);
    nlohmann::json fields = {{"request_id", info.request_id}, {"method", req.method}, {"route", route},
                             {"path", req.path}, {"status", res.status}, {"duration_ms", seconds * 1000}};
    if (!info.model.empty()) {
      fields["model"] = info.model;
      fields["version"] = info.version;
    }
    if (info.principal.authenticated) fields["client"] = info.principal.client;
    if (!error_message.empty()) fields["error"] = error_message;
    logger.Log(res.status >= 500 ? LogLevel::kError : LogLevel::kInfo, "request", fields);
  };
}

}  // namespace mms::api
