#include "runtime/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "runtime/metrics_collectors.h"

namespace mms::runtime {

const char* RejectionReason(ErrorCode code) {
  switch (code) {
    case ErrorCode::kUnauthenticated: return "unauthenticated";
    case ErrorCode::kPermissionDenied: return "forbidden";
    case ErrorCode::kRateLimited: return "rate_limited";
    case ErrorCode::kTooLarge: return "too_large";
    case ErrorCode::kTimeout: return "timeout";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kNotFound:
    case ErrorCode::kUnsupportedMedia:
    case ErrorCode::kInvalidModel:
    case ErrorCode::kInternal: return nullptr;
  }
  return nullptr;
}

namespace {

// From a health check (well under a millisecond) to a large batch queued behind others.
const prometheus::Histogram::BucketBoundaries kRequestSecondsBuckets = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

}  // namespace

Metrics::Metrics() : registry_(std::make_unique<prometheus::Registry>()) {
  requests_ = &prometheus::BuildCounter()
                   .Name("mmserve_requests_total")
                   .Help("HTTP requests answered, by route pattern, status code and model (\"\" when none)")
                   .Register(*registry_);
  request_duration_ = &prometheus::BuildHistogram()
                           .Name("mmserve_request_duration_seconds")
                           .Help("Time from routing a request to its response being ready, by route pattern")
                           .Register(*registry_);
  inflight_ = &prometheus::BuildGauge()
                   .Name("mmserve_inflight_requests")
                   .Help("Requests being handled now")
                   .Register(*registry_)
                   .Add({});
  rate_limited_ = &prometheus::BuildCounter()
                       .Name("mmserve_rate_limited_requests_total")
                       .Help("Requests refused with 429 because their client was over its rate limit")
                       .Register(*registry_)
                       .Add({});
  rejected_ = &prometheus::BuildCounter()
                   .Name("mmserve_rejected_requests_total")
                   .Help("Requests refused, by reason: unauthenticated, forbidden, rate_limited, too_large, "
                         "timeout, unavailable (not ready, queue full, circuit breaker open, shutting down)")
                   .Register(*registry_);
}

Metrics::~Metrics() = default;

void Metrics::RequestStarted() { inflight_->Increment(); }

void Metrics::RequestFinished(const std::string& route, int status, const std::string& model, double seconds) {
  inflight_->Decrement();
  requests_->Add({{"route", route}, {"code", std::to_string(status)}, {"model", model}}).Increment();
  request_duration_->Add({{"route", route}}, kRequestSecondsBuckets).Observe(seconds);
}

void Metrics::RequestUnrouted(int status) {
  requests_->Add({{"route", "(none)"}, {"code", std::to_string(status)}, {"model", ""}}).Increment();
  if (status == 413) CountRejection(ErrorCode::kTooLarge);
}

void Metrics::CountRejection(ErrorCode code) {
  const char* reason = RejectionReason(code);
  if (!reason) return;
  rejected_->Add({{"reason", reason}}).Increment();
  if (code == ErrorCode::kRateLimited) rate_limited_->Increment();
}

std::string Metrics::Exposition(const ModelRepository& repository) const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  for (auto& f : CollectModelMetrics(repository, cache_.get())) families.push_back(std::move(f));
  for (auto& f : CollectGenerationMetrics(repository)) families.push_back(std::move(f));
  for (auto& f : CollectCacheMetrics(cache_.get())) families.push_back(std::move(f));
  for (auto& f : CollectProcessMetrics()) families.push_back(std::move(f));
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace mms::runtime
