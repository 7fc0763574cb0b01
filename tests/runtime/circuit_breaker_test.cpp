// The breaker's state machine on a simulated clock.
#include "runtime/circuit_breaker.h"

#include <gtest/gtest.h>

#include <vector>

#include "base/error.h"

namespace mms::runtime {
namespace {

using std::chrono::milliseconds;
using Clock = CircuitBreaker::Clock;

bool Admitted(CircuitBreaker& b, Clock::time_point now) {
  try {
    b.Admit("model m version 1", now);
    return true;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnavailable);
    EXPECT_NE(std::string(e.what()).find("model m version 1"), std::string::npos);
    return false;
  }
}

TEST(CircuitBreaker, OpensAfterThresholdThenHalfOpenTrialCloses) {
  std::vector<std::pair<BreakerState, BreakerState>> changes;
  CircuitBreaker b({3, milliseconds(1000)}, [&](BreakerState from, BreakerState to, const std::string&) {
    changes.emplace_back(from, to);
  });
  const auto t0 = Clock::time_point{} + std::chrono::hours(1);
  b.RecordFailure("boom", t0);
  b.RecordFailure("boom", t0);
  b.RecordSuccess();  // a success in between resets the count
  b.RecordFailure("boom", t0);
  b.RecordFailure("boom", t0);
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  EXPECT_TRUE(Admitted(b, t0));
  b.RecordFailure("boom", t0);
  EXPECT_EQ(b.state(), BreakerState::kOpen);
  EXPECT_FALSE(Admitted(b, t0 + milliseconds(999)));
  // Cool-down over: exactly one trial goes through.
  EXPECT_TRUE(Admitted(b, t0 + milliseconds(1000)));
  EXPECT_EQ(b.state(), BreakerState::kHalfOpen);
  EXPECT_FALSE(Admitted(b, t0 + milliseconds(1001)));
  b.RecordSuccess();
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  EXPECT_TRUE(Admitted(b, t0 + milliseconds(1002)));
  const std::vector<std::pair<BreakerState, BreakerState>> want = {{BreakerState::kClosed, BreakerState::kOpen},
                                                                   {BreakerState::kOpen, BreakerState::kHalfOpen},
                                                                   {BreakerState::kHalfOpen, BreakerState::kClosed}};
  EXPECT_EQ(changes, want);
}

TEST(CircuitBreaker, FailedTrialReopensForAnotherCoolDown) {
  CircuitBreaker b({1, milliseconds(500)});
  const auto t0 = Clock::time_point{} + std::chrono::hours(1);
  b.RecordFailure("boom", t0);
  EXPECT_EQ(b.state(), BreakerState::kOpen);
  EXPECT_TRUE(Admitted(b, t0 + milliseconds(600)));
  b.RecordFailure("still broken", t0 + milliseconds(700));
  EXPECT_EQ(b.state(), BreakerState::kOpen);
  EXPECT_FALSE(Admitted(b, t0 + milliseconds(1100)));  // cool-down restarted at 700
  EXPECT_TRUE(Admitted(b, t0 + milliseconds(1200)));
}

TEST(CircuitBreaker, ResetClosesAndDisabledNeverOpens) {
  CircuitBreaker b({1, milliseconds(60000)});
  const auto t0 = Clock::time_point{} + std::chrono::hours(1);
  b.RecordFailure("boom", t0);
  EXPECT_FALSE(Admitted(b, t0));
  b.Reset();
  EXPECT_TRUE(Admitted(b, t0));
  CircuitBreaker off({0, milliseconds(1)});
  for (int i = 0; i < 100; ++i) off.RecordFailure("boom", t0);
  EXPECT_EQ(off.state(), BreakerState::kClosed);
  EXPECT_TRUE(Admitted(off, t0));
}

}  // namespace
}  // namespace mms::runtime
