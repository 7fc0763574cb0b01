// The gate every request passes before its route runs: authentication (API keys, JWT)
// and the per-client rate limit. Routes marked open (health, metrics, server metadata)
// skip both unless --protect-health asks otherwise; a load balancer's probes must not
// need a key or eat a client's rate.
#pragma once

#include <string>

#include "api/auth.h"
#include "api/http_message.h"
#include "api/rate_limiter.h"

namespace mms::api {

enum class RouteAccess { kProtected, kOpen };

struct AccessOptions {
  std::string api_keys_file, jwt_secret_file, jwt_issuer, jwt_audience;
  double rate_limit = 0;  // requests per second per client; 0 = unlimited
  double rate_burst = 0;  // 0 = max(1, rate_limit)
  bool protect_health = false;
};

class AccessControl {
 public:
  AccessControl() : limiter_(0, 0) {}
  explicit AccessControl(const AccessOptions& options);

  // The caller, when it may go on. Throws Error(kUnauthenticated) or Error(kRateLimited);
  // for the latter *retry_after_seconds says when to come back. Looks at headers only, so
  // the transport calls it before reading the body. A failed authentication takes a token
  // from the caller's address, so that guessing keys is rate limited too.
  Principal Admit(const HttpRequest& req, RouteAccess access, int* retry_after_seconds);

  bool auth_enabled() const { return authenticator_.enabled(); }

 private:
  Authenticator authenticator_;
  RateLimiter limiter_;
  bool protect_health_ = false;
};

}  // namespace mms::api
