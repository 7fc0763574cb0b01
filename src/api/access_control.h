// The gate every request passes before its route runs: authentication (API keys, JWT)
// and the per-client rate limit. Routes marked open (health, metrics, server metadata)
// skip both unless --protect-health asks otherwise; a load balancer's probes must not
// need a key or eat a client's rate.
#pragma once

#include <string>

#include "api/auth.h"
#include "api/rate_limiter.h"

namespace httplib {
struct Request;
}

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
  // for the latter *retry_after_seconds says when to come back.
  Principal Admit(const httplib::Request& req, RouteAccess access, int* retry_after_seconds);

  bool auth_enabled() const { return authenticator_.enabled(); }

 private:
  Authenticator authenticator_;
  RateLimiter limiter_;
  bool protect_health_ = false;
};

}  // namespace mms::api
