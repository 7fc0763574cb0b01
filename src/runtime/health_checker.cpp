#include "runtime/health_checker.h"

#include <set>

#include "base/logger.h"
#include "runtime/model_repository.h"

namespace mms::runtime {

HealthChecker::HealthChecker(ModelRepository& repository, HealthCheckOptions options, Logger& logger)
    : repository_(repository), options_(options), logger_(logger) {}

HealthChecker::~HealthChecker() { Stop(); }

void HealthChecker::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void HealthChecker::Start() {
  if (options_.interval.count() <= 0) return;
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!cv_.wait_for(lock, options_.interval, [this] { return stopping_; })) {
      lock.unlock();
      try {
        CheckOnce();
      } catch (const std::exception& e) {
        logger_.Error("health check round failed", {{"reason", e.what()}});
      }
      lock.lock();
    }
  });
}

void HealthChecker::CheckOnce() {
  std::set<std::string> to_reload;
  std::set<std::string> seen;
  for (const auto& model : repository_.Loaded()) {
    const std::string key = model->name() + ":" + std::to_string(model->version());
    seen.insert(key);
    const ServedModel::ProbeResult probe = model->Probe(options_.probe_timeout);
    if (probe.outcome == ServedModel::ProbeOutcome::kHealthy) {
      if (consecutive_failures_[key] > 0) {
        logger_.Info("health check passes again", {{"model", model->name()}, {"version", model->version()}});
      }
      consecutive_failures_[key] = 0;
      continue;
    }
    if (probe.outcome == ServedModel::ProbeOutcome::kBusy) {
      // Neither a pass nor a failure: the count of failures in a row is left as it is.
      logger_.Info("health check inconclusive: the model is busy",
                   {{"model", model->name()}, {"version", model->version()}, {"reason", probe.detail}});
      continue;
    }
    const int failures = ++consecutive_failures_[key];
    logger_.Warning("health check failed", {{"model", model->name()}, {"version", model->version()},
                                            {"consecutive_failures", failures}, {"reason", probe.detail}});
    if (failures >= options_.failures_before_reload) to_reload.insert(model->name());
  }
  for (auto it = consecutive_failures_.begin(); it != consecutive_failures_.end();) {
    it = seen.count(it->first) ? std::next(it) : consecutive_failures_.erase(it);  // versions gone
  }
  for (const auto& name : to_reload) {
    logger_.Warning("reloading the model after repeated health check failures", {{"model", name}});
    try {
      repository_.Reload(name);
    } catch (const std::exception& e) {
      logger_.Error("health check reload failed", {{"model", name}, {"reason", e.what()}});
    }
    for (auto& [key, count] : consecutive_failures_) {
      if (key.rfind(name + ":", 0) == 0) count = 0;
    }
  }
}

}  // namespace mms::runtime
