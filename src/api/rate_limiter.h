// Per-client request rate limits: one token bucket per client (API key's client, token
// subject, or the peer address when anonymous). A bucket holds up to `burst` tokens and
// refills at `rate_per_second`; each request takes one. Buckets idle long enough to be
// full again are dropped, so memory stays bounded by the clients active recently.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

namespace mms::api {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  struct Decision {
    bool allowed = true;
    int retry_after_seconds = 0;  // when refused: whole seconds until a token is there
  };

  // rate_per_second <= 0 disables limiting. burst < 1 is taken as 1.
  RateLimiter(double rate_per_second, double burst);

  bool enabled() const { return rate_ > 0; }
  Decision Acquire(const std::string& client, Clock::time_point now = Clock::now());
  size_t tracked_clients() const;

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point updated;
  };
  void DropIdleBuckets(Clock::time_point now);

  const double rate_, burst_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
  Clock::time_point last_sweep_{};
};

}  // namespace mms::api
