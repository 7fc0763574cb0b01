// Periodic self-test of every loaded model version: a tiny inference on each part of the
// model (image and text towers) each interval, with a deadline. A version whose executions
// fail `failures_before_reload` probes in a row is reloaded from the repository, which
// replaces a broken loaded instance (and its open breaker) with a fresh one; a successful
// probe closes an open breaker. A probe the model was too busy to answer (queue full,
// queue timeout, deadline passed) counts neither way: busy models are never reloaded.
// Readiness follows through the breaker: /v2/models/{m}/ready is false while it is open.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace mms {
class Logger;
}

namespace mms::runtime {

class ModelRepository;

struct HealthCheckOptions {
  std::chrono::milliseconds interval{10000};  // 0 disables the checker
  int failures_before_reload = 3;
  // How long one probe may wait for its answers, queue included; past it the probe is
  // inconclusive (busy), not failed.
  std::chrono::milliseconds probe_timeout{5000};
};

class HealthChecker {
 public:
  HealthChecker(ModelRepository& repository, HealthCheckOptions options, Logger& logger);
  ~HealthChecker();  // stops the thread

  void Start();
  void Stop();  // waits for a round in progress
  // One round over every loaded version (the thread calls it; tests may too).
  void CheckOnce();

 private:
  ModelRepository& repository_;
  const HealthCheckOptions options_;
  Logger& logger_;
  std::map<std::string, int> consecutive_failures_;  // by "model:version"
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
};

}  // namespace mms::runtime
