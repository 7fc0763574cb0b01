#include "runtime/circuit_breaker.h"

#include "base/error.h"

namespace mms::runtime {

const char* BreakerStateName(BreakerState state) {
  switch (state) {
    case BreakerState::kClosed: return "closed";
    case BreakerState::kOpen: return "open";
    case BreakerState::kHalfOpen: return "half_open";
  }
  return "closed";
}

CircuitBreaker::CircuitBreaker(BreakerOptions options, Listener listener)
    : options_(options), listener_(std::move(listener)) {}

void CircuitBreaker::Admit(const std::string& what, Clock::time_point now) {
  if (options_.failure_threshold <= 0) return;
  std::unique_lock<std::mutex> lock(mutex_);
  if (state_ == BreakerState::kClosed) return;
  if (state_ == BreakerState::kOpen && now - opened_at_ >= options_.cool_down) {
    Transition(BreakerState::kHalfOpen, lock);
    lock.lock();
  }
  // A trial that never reported (it failed on its own input before running) must not
  // keep the breaker half-open for ever: after another cool-down, the next request tries.
  if (state_ == BreakerState::kHalfOpen && (!trial_out_ || now - trial_started_ >= options_.cool_down)) {
    trial_out_ = true;  // this request is the trial
    trial_started_ = now;
    return;
  }
  const auto wait = std::chrono::duration_cast<std::chrono::seconds>(options_.cool_down - (now - opened_at_)).count();
  throw Error(ErrorCode::kUnavailable,
              what + " is failing (circuit breaker " + BreakerStateName(state_) + " after " +
                  std::to_string(consecutive_failures_) + " consecutive failures; last: " + last_error_ + ")" +
                  (state_ == BreakerState::kOpen ? "; next trial in " + std::to_string(std::max<int64_t>(wait, 0) + 1) + " s"
                                                 : "; a trial request is running"));
}

void CircuitBreaker::RecordSuccess() {
  std::unique_lock<std::mutex> lock(mutex_);
  consecutive_failures_ = 0;
  trial_out_ = false;
  if (state_ != BreakerState::kClosed) Transition(BreakerState::kClosed, lock);
}

void CircuitBreaker::RecordFailure(const std::string& error, Clock::time_point now) {
  if (options_.failure_threshold <= 0) return;
  std::unique_lock<std::mutex> lock(mutex_);
  ++consecutive_failures_;
  last_error_ = error;
  trial_out_ = false;
  const bool trip = state_ == BreakerState::kHalfOpen ||
                    (state_ == BreakerState::kClosed && consecutive_failures_ >= options_.failure_threshold);
  if (trip) {
    opened_at_ = now;
    Transition(BreakerState::kOpen, lock);
  }
}

void CircuitBreaker::Reset() {
  std::unique_lock<std::mutex> lock(mutex_);
  consecutive_failures_ = 0;
  trial_out_ = false;
  if (state_ != BreakerState::kClosed) Transition(BreakerState::kClosed, lock);
}

BreakerState CircuitBreaker::state() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return state_;
}

int CircuitBreaker::consecutive_failures() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return consecutive_failures_;
}

// Unlocks before calling the listener, which may log or take other locks.
void CircuitBreaker::Transition(BreakerState to, std::unique_lock<std::mutex>& lock) {
  const BreakerState from = state_;
  state_ = to;
  const std::string last = last_error_;
  lock.unlock();
  if (listener_) listener_(from, to, last);
}

}  // namespace mms::runtime
