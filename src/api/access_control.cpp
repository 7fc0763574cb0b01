#include "api/access_control.h"

#include <algorithm>
#include <chrono>

namespace mms::api {

AccessControl::AccessControl(const AccessOptions& o)
    : authenticator_(Authenticator::FromFiles(o.api_keys_file, o.jwt_secret_file, o.jwt_issuer, o.jwt_audience)),
      limiter_(o.rate_limit, o.rate_burst > 0 ? o.rate_burst : std::max(1.0, o.rate_limit)),
      protect_health_(o.protect_health) {
  if (o.rate_limit < 0) ThrowInvalidArgument("--rate-limit must not be negative");
  if (o.rate_burst < 0) ThrowInvalidArgument("--rate-burst must not be negative");
}

namespace {

[[noreturn]] void ThrowRateLimited(const std::string& who, const RateLimiter::Decision& decision,
                                   int* retry_after_seconds) {
  *retry_after_seconds = decision.retry_after_seconds;
  throw Error(ErrorCode::kRateLimited, "rate limit exceeded for " + who + "; retry after " +
                                           std::to_string(decision.retry_after_seconds) + " s");
}

}  // namespace

Principal AccessControl::Admit(const HttpRequest& req, RouteAccess access, int* retry_after_seconds) {
  if (access == RouteAccess::kOpen && !protect_health_) return {};
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  const std::string address_bucket = "ip:" + req.remote_addr;
  Principal principal;
  try {
    principal = authenticator_.Authenticate(req.Header("Authorization").value_or(""),
                                            req.Header("X-API-Key").value_or(""), now);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::kUnauthenticated) throw;
    const auto decision = limiter_.Acquire(address_bucket);
    if (!decision.allowed) ThrowRateLimited("address " + req.remote_addr, decision, retry_after_seconds);
    throw;
  }
  // Anonymous callers share a bucket per address; behind a proxy that is the proxy's,
  // so deployments that rate-limit per user should give each user a key.
  const std::string bucket = principal.authenticated ? "client:" + principal.client : address_bucket;
  const auto decision = limiter_.Acquire(bucket);
  if (!decision.allowed) {
    ThrowRateLimited(principal.authenticated ? "client \"" + principal.client + "\"" : "address " + req.remote_addr,
                     decision, retry_after_seconds);
  }
  return principal;
}

}  // namespace mms::api
