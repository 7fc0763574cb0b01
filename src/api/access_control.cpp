#include "api/access_control.h"

#include <httplib.h>

#include <chrono>

namespace mms::api {

AccessControl::AccessControl(const AccessOptions& o)
    : authenticator_(Authenticator::FromFiles(o.api_keys_file, o.jwt_secret_file, o.jwt_issuer, o.jwt_audience)),
      limiter_(o.rate_limit, o.rate_burst > 0 ? o.rate_burst : std::max(1.0, o.rate_limit)),
      protect_health_(o.protect_health) {
  if (o.rate_limit < 0) ThrowInvalidArgument("--rate-limit must not be negative");
  if (o.rate_burst < 0) ThrowInvalidArgument("--rate-burst must not be negative");
}

Principal AccessControl::Admit(const httplib::Request& req, RouteAccess access, int* retry_after_seconds) {
  if (access == RouteAccess::kOpen && !protect_health_) return {};
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  Principal principal = authenticator_.Authenticate(req.get_header_value("Authorization"),
                                                    req.get_header_value("X-API-Key"), now);
  // Anonymous callers share a bucket per address; behind a proxy that is the proxy's,
  // so deployments that rate-limit per user should give each user a key.
  const std::string bucket = principal.authenticated ? "client:" + principal.client : "ip:" + req.remote_addr;
  const auto decision = limiter_.Acquire(bucket);
  if (!decision.allowed) {
    *retry_after_seconds = decision.retry_after_seconds;
    throw Error(ErrorCode::kRateLimited, "rate limit exceeded for " +
                                             (principal.authenticated ? "client \"" + principal.client + "\""
                                                                      : "address " + req.remote_addr) +
                                             "; retry after " + std::to_string(decision.retry_after_seconds) + " s");
  }
  return principal;
}

}  // namespace mms::api
