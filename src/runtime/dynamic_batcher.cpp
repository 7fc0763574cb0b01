// The parts of the dynamic batcher that do not depend on the item type: the batch-size
// rule, config checks and the error messages callers see.
#include "runtime/dynamic_batcher.h"

#include <algorithm>
#include <cstdio>

namespace mms::runtime {

size_t ReadyBatchSize(const BatcherConfig& config, size_t queued, bool delay_expired) {
  if (queued == 0) return 0;
  // With preferred sizes, the largest one is the batch the model wants; waiting longer
  // could only produce a size it does not prefer, so run as soon as it is there.
  size_t target = static_cast<size_t>(config.max_batch_size);
  if (!config.preferred_batch_sizes.empty()) {
    const int largest = *std::max_element(config.preferred_batch_sizes.begin(), config.preferred_batch_sizes.end());
    target = std::min(target, static_cast<size_t>(largest));
  }
  if (queued >= target) return target;
  if (!delay_expired) return 0;
  // The delay ran out: the largest preferred size that fits, else everything queued.
  size_t fit = 0;
  for (int size : config.preferred_batch_sizes)
    if (size > 0 && static_cast<size_t>(size) <= queued) fit = std::max(fit, static_cast<size_t>(size));
  return fit > 0 ? fit : queued;
}

void ValidateBatcherConfig(const BatcherConfig& config, const std::string& name) {
  const std::string where = "batcher of " + name + ": ";
  if (config.max_batch_size < 1)
    ThrowInvalidArgument(where + "max_batch_size must be at least 1, got " + std::to_string(config.max_batch_size));
  if (config.instance_count < 1)
    ThrowInvalidArgument(where + "instance_count must be at least 1, got " + std::to_string(config.instance_count));
  for (int size : config.preferred_batch_sizes)
    if (size < 1 || size > config.max_batch_size)
      ThrowInvalidArgument(where + "preferred batch size " + std::to_string(size) + " is outside 1.." +
                           std::to_string(config.max_batch_size));
  if (config.max_queue_delay.count() < 0) ThrowInvalidArgument(where + "max_queue_delay must not be negative");
}

namespace batcher_detail {

namespace {
std::string Milliseconds(std::chrono::nanoseconds d) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f ms", static_cast<double>(d.count()) / 1e6);
  return text;
}
}  // namespace

Error QueueFullError(const std::string& name, size_t max_queue_size) {
  return Error(ErrorCode::kUnavailable,
               "queue of " + name + " is full (" + std::to_string(max_queue_size) + " requests); retry later");
}

Error ShuttingDownError(const std::string& name) {
  return Error(ErrorCode::kUnavailable, name + " is shutting down; not accepting requests");
}

Error ShutDownBeforeRunError(const std::string& name) {
  return Error(ErrorCode::kUnavailable, name + " shut down before the request ran");
}

Error TimeoutError(const std::string& name, std::chrono::nanoseconds waited, std::chrono::microseconds timeout) {
  return Error(ErrorCode::kTimeout, "request to " + name + " timed out after waiting " + Milliseconds(waited) +
                                        " in the queue (timeout " + Milliseconds(timeout) + ")");
}

Error WrongResultCountError(const std::string& name, size_t results, size_t items) {
  return Error(ErrorCode::kInternal, "executor of " + name + " returned " + std::to_string(results) +
                                         " results for a batch of " + std::to_string(items) + " items");
}

std::chrono::steady_clock::time_point SaturatingAdd(std::chrono::steady_clock::time_point t,
                                                    std::chrono::microseconds d) {
  using TimePoint = std::chrono::steady_clock::time_point;
  if (d.count() <= 0) return t;
  // Compare in microseconds: converting a huge d to the clock's nanoseconds would overflow.
  if (d >= std::chrono::duration_cast<std::chrono::microseconds>(TimePoint::max() - t)) return TimePoint::max();
  return t + d;
}

std::chrono::steady_clock::time_point SaturatingAdd(std::chrono::steady_clock::time_point t,
                                                    std::chrono::milliseconds d) {
  constexpr auto kMaxMs = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::microseconds::max());
  return SaturatingAdd(t, d >= kMaxMs ? std::chrono::microseconds::max() : std::chrono::microseconds(d));
}

}  // namespace batcher_detail

}  // namespace mms::runtime
