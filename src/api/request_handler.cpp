#include "api/request_handler.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <string_view>

#include "api/error_mapping.h"
#include "api/kserve_metadata.h"
#include "api/openai_codec.h"

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

std::string ErrorBodyForPath(const std::string& path, int status, const std::string& message) {
  if (path == "/v2" || path.rfind("/v2/", 0) == 0) return kserve::ErrorBody(status, message);
  if (path.rfind("/v1/", 0) == 0) return openai::ErrorBody(status, message);
  return SimpleErrorBody(status, message);
}

namespace {

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> segments;
  size_t start = 1;  // paths start with '/'
  while (start <= path.size()) {
    const size_t end = std::min(path.find('/', start), path.size());
    segments.emplace_back(path.substr(start, end - start));
    start = end + 1;
  }
  return segments;
}

bool IsPlaceholder(const std::string& segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

// Path segments against a pattern's: literals equal, placeholders take one non-empty segment.
bool MatchSegments(const std::vector<std::string>& pattern, const std::vector<std::string>& path,
                   std::vector<std::string>* params) {
  if (pattern.size() != path.size()) return false;
  std::vector<std::string> captured;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (IsPlaceholder(pattern[i])) {
      if (path[i].empty()) return false;
      captured.push_back(path[i]);
    } else if (pattern[i] != path[i]) {
      return false;
    }
  }
  *params = std::move(captured);
  return true;
}

// A client-supplied id is echoed only if it is short and printable, so it cannot
// inject headers or log lines.
std::string RequestIdFrom(const HttpRequest& req) {
  const std::string_view given = req.Header("X-Request-ID").value_or("");
  if (given.empty() || given.size() > 128) return NewRequestId();
  for (unsigned char c : given) {
    if (c < 0x21 || c > 0x7e) return NewRequestId();
  }
  return std::string(given);
}

}  // namespace

Route& Router::Add(std::string method, std::string pattern, RouteFunction handler, ErrorBodyFormatter error_body,
                 RouteAccess access, RouteExecution execution) {
  Route route{std::move(method), std::move(pattern), std::move(handler), std::move(error_body), access, execution, 0, {}};
  route.segments = SplitPath(route.pattern);
  routes_.push_back(std::move(route));
  return routes_.back();
}

Router::Match Router::Find(const std::string& method, const std::string& path) const {
  Match match;
  if (path.empty() || path.front() != '/') return match;
  const std::vector<std::string> segments = SplitPath(path);
  const std::string& wanted = method == "HEAD" ? std::string("GET") : method;
  for (const Route& route : routes_) {
    std::vector<std::string> params;
    if (!MatchSegments(route.segments, segments, &params)) continue;
    if (route.method != wanted) {
      match.path_known = true;
      continue;
    }
    match.route = &route;
    match.params = std::move(params);
    return match;
  }
  return match;
}

bool RequestDispatcher::BeginRequest(Exchange& ex, std::optional<uint64_t> declared_body_bytes) {
  ex.info.request_id = RequestIdFrom(ex.request);
  ex.response.SetHeader("X-Request-ID", ex.info.request_id);

  Router::Match match = router_.Find(ex.request.method, ex.request.path);
  if (!match.route) {
    if (match.path_known) {
      Fail(ex, 405, "method " + ex.request.method + " not allowed on " + ex.request.path);
    } else {
      Fail(ex, 404, "no route for " + ex.request.method + " " + ex.request.path);
    }
    return false;
  }
  ex.route = match.route;
  ctx_.metrics.RequestStarted();  // in flight from here until Finish
  ex.started = true;
  ex.request.path_params = std::move(match.params);

  // The caller first: someone without credentials learns nothing about the route's limits.
  int retry_after_seconds = 0;
  try {
    ex.info.principal = ctx_.access.Admit(ex.request, ex.route->access, &retry_after_seconds);
  } catch (const Error& e) {
    Fail(ex, e, retry_after_seconds);
    return false;
  }
  // Compressed request bodies are refused rather than inflated: a 300 KB gzip body can
  // inflate to gigabytes, and no client of these APIs needs to compress its requests.
  if (const auto encoding = ex.request.Header("Content-Encoding");
      encoding && !encoding->empty() && !HeaderNameEquals(*encoding, "identity")) {
    Fail(ex, Error(ErrorCode::kUnsupportedMedia, "request bodies with a Content-Encoding are not accepted; "
                                                     "send the body uncompressed"));
    return false;
  }
  if (declared_body_bytes && *declared_body_bytes > BodyLimit(ex)) {
    Fail(ex, Error(ErrorCode::kTooLarge, "request body of " + std::to_string(*declared_body_bytes) +
                                             " bytes exceeds the limit of " + std::to_string(BodyLimit(ex)) +
                                             " bytes"));
    return false;
  }
  return true;
}

bool RequestDispatcher::RunsInline(const Exchange& ex) const {
  return ex.route && ex.route->execution == RouteExecution::kInline;
}

size_t RequestDispatcher::BodyLimit(const Exchange& ex) const {
  if (ex.route && ex.route->max_body_bytes > 0) return std::min(ex.route->max_body_bytes, ctx_.limits.max_body_bytes);
  return ctx_.limits.max_body_bytes;
}

void RequestDispatcher::Handle(Exchange& ex) {
  try {
    ex.route->handler(ex.request, ex.response, ex.info);
  } catch (const Error& e) {
    Fail(ex, e);
  } catch (const std::bad_alloc&) {
    Fail(ex, Error(ErrorCode::kUnavailable, "out of memory while serving the request"));
  } catch (const std::exception& e) {
    Fail(ex, Error(ErrorCode::kInternal, std::string("internal error: ") + e.what()));
  }
}

void RequestDispatcher::Fail(Exchange& ex, const Error& error, int retry_after_seconds) {
  const int status = HttpStatusFor(error.code());
  ctx_.metrics.CountRejection(error.code());
  if (error.code() == ErrorCode::kUnauthenticated) ex.response.SetHeader("WWW-Authenticate", "Bearer realm=\"mmserve\"");
  if (error.code() == ErrorCode::kRateLimited) ex.response.SetHeader("Retry-After", std::to_string(retry_after_seconds));
  Fail(ex, status, error.what());
}

void RequestDispatcher::Fail(Exchange& ex, int status, const std::string& message) {
  ex.response.status = status;
  ex.error_message = message;
  const std::string body = ex.route ? ex.route->error_body(status, message)
                                    : ErrorBodyForPath(ex.request.path, status, message);
  ex.response.SetContent(body, "application/json");
}

void RequestDispatcher::Finish(Exchange& ex) {
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - ex.start).count();
  if (ex.started) {
    ctx_.metrics.RequestFinished(ex.route->pattern, ex.response.status, ex.info.model, seconds);
  } else {
    ctx_.metrics.RequestUnrouted(ex.response.status);
  }
  if (ex.info.request_id.empty()) ex.info.request_id = NewRequestId();
  nlohmann::json fields = {{"request_id", ex.info.request_id}, {"method", ex.request.method},
                           {"route", ex.route ? ex.route->pattern : std::string("(none)")},
                           {"path", ex.request.path}, {"status", ex.response.status}, {"duration_ms", seconds * 1000}};
  if (!ex.info.model.empty()) {
    fields["model"] = ex.info.model;
    fields["version"] = ex.info.version;
  }
  if (ex.info.principal.authenticated) fields["client"] = ex.info.principal.client;
  for (const auto& [name, value] : ex.info.log_fields) {
    // Counts print as integers ("completion_tokens":16), times as they are.
    if (value == static_cast<double>(static_cast<int64_t>(value))) {
      fields[name] = static_cast<int64_t>(value);
    } else {
      fields[name] = value;
    }
  }
  if (!ex.error_message.empty()) fields["error"] = ex.error_message;
  ctx_.logger.Log(ex.response.status >= 500 ? LogLevel::kError : LogLevel::kInfo, "request", fields);
}

}  // namespace mms::api
