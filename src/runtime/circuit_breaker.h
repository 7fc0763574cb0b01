// A circuit breaker for one model version. Executions report success or failure; after
// `failure_threshold` failures in a row the breaker opens and requests fail fast (503)
// instead of queueing behind a model that keeps failing. After `cool_down` one trial
// request is let through (half-open): its success closes the breaker, its failure opens
// it again for another cool-down.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

namespace mms::runtime {

enum class BreakerState { kClosed = 0, kOpen = 1, kHalfOpen = 2 };
const char* BreakerStateName(BreakerState state);

struct BreakerOptions {
  int failure_threshold = 5;  // 0 disables the breaker
  std::chrono::milliseconds cool_down{10000};
};

class CircuitBreaker {
 public:
  using Clock = std::chrono::steady_clock;
  // Called (outside the lock) on every state change, e.g. to log it.
  using Listener = std::function<void(BreakerState from, BreakerState to, const std::string& last_error)>;

  explicit CircuitBreaker(BreakerOptions options, Listener listener = {});

  // Throws Error(kUnavailable) when the breaker is open, or half-open with its trial
  // already out. `what` names the model version in the message.
  void Admit(const std::string& what, Clock::time_point now = Clock::now());
  void RecordSuccess();
  void RecordFailure(const std::string& error, Clock::time_point now = Clock::now());
  // Closes the breaker (after a successful health probe or a reload).
  void Reset();

  BreakerState state() const;
  int consecutive_failures() const;

 private:
  void Transition(BreakerState to, std::unique_lock<std::mutex>& lock);

  const BreakerOptions options_;
  const Listener listener_;
  mutable std::mutex mutex_;
  BreakerState state_ = BreakerState::kClosed;
  int consecutive_failures_ = 0;
  bool trial_out_ = false;
  Clock::time_point opened_at_{}, trial_started_{};
  std::string last_error_;
};

}  // namespace mms::runtime
