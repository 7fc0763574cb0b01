#include "api/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace mms::api {

RateLimiter::RateLimiter(double rate_per_second, double burst) : rate_(rate_per_second), burst_(std::max(1.0, burst)) {}

RateLimiter::Decision RateLimiter::Acquire(const std::string& client, Clock::time_point now) {
  if (!enabled()) return {};
  std::lock_guard<std::mutex> lock(mutex_);
  DropIdleBuckets(now);
  auto [it, created] = buckets_.try_emplace(client, Bucket{burst_, now});
  Bucket& b = it->second;
  if (!created) {
    const double elapsed = std::chrono::duration<double>(now - b.updated).count();
    b.tokens = std::min(burst_, b.tokens + std::max(0.0, elapsed) * rate_);
    b.updated = std::max(b.updated, now);
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return {};
  }
  const double wait = (1.0 - b.tokens) / rate_;
  return {false, std::max(1, static_cast<int>(std::ceil(wait)))};
}

size_t RateLimiter::tracked_clients() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return buckets_.size();
}

// A bucket that would have refilled completely is the same as a new one: forget it. Swept
// at most once per refill period so that the cost stays amortized.
void RateLimiter::DropIdleBuckets(Clock::time_point now) {
  const auto full_after = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(burst_ / rate_));
  if (now - last_sweep_ < full_after) return;
  last_sweep_ = now;
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    it = now - it->second.updated >= full_after ? buckets_.erase(it) : std::next(it);
  }
}

}  // namespace mms::api
