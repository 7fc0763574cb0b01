// Token buckets on a simulated clock: bursts, refill, Retry-After, per-client isolation,
// and idle buckets forgotten.
#include "api/rate_limiter.h"

#include <gtest/gtest.h>

namespace mms::api {
namespace {

using Clock = RateLimiter::Clock;
using std::chrono::milliseconds;

TEST(RateLimiter, BurstThenRefillAtTheRate) {
  RateLimiter limiter(2.0, 3.0);  // 2 requests/s, bursts of 3
  const auto t0 = Clock::time_point{} + std::chrono::hours(1);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Acquire("a", t0).allowed) << i;
  const auto refused = limiter.Acquire("a", t0);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after_seconds, 1);  // half a second, rounded up
  EXPECT_FALSE(limiter.Acquire("a", t0 + milliseconds(400)).allowed);
  EXPECT_TRUE(limiter.Acquire("a", t0 + milliseconds(520)).allowed);
  EXPECT_FALSE(limiter.Acquire("a", t0 + milliseconds(530)).allowed);
  // A client of its own is not affected.
  EXPECT_TRUE(limiter.Acquire("b", t0 + milliseconds(530)).allowed);
}

TEST(RateLimiter, RetryAfterCoversTheWait) {
  RateLimiter limiter(0.2, 1.0);  // one request per 5 s
  const auto t0 = Clock::time_point{} + std::chrono::hours(1);
  EXPECT_TRUE(limiter.Acquire("a", t0).allowed);
  const auto d = limiter.Acquire("a", t0);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_seconds, 5);
  EXPECT_FALSE(limiter.Acquire("a", t0 + std::chrono::milliseconds(4900)).allowed);
  EXPECT_TRUE(limiter.Acquire("a", t0 + std::chrono::seconds(5)).allowed);
}

TEST(RateLimiter, DisabledAllowsEverything) {
  RateLimiter limiter(0, 0);
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(limiter.Acquire("a").allowed);
  EXPECT_EQ(limiter.tracked_clients(), 0u);
}

TEST(RateLimiter, IdleClientsAreForgotten) {
  RateLimiter limiter(10.0, 5.0);  // full again after 0.5 s
  const auto t0 = Clock::time_point{} + std::chrono::hours(1);
  for (int i = 0; i < 100; ++i) limiter.Acquire("client-" + std::to_string(i), t0);
  EXPECT_EQ(limiter.tracked_clients(), 100u);
  limiter.Acquire("late", t0 + std::chrono::seconds(2));
  EXPECT_EQ(limiter.tracked_clients(), 1u);
}

}  // namespace
}  // namespace mms::api
