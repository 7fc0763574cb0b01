// The server's Prometheus metrics. Three sources:
//   - what passes through the HTTP layer, counted as it happens: requests by route, status
//     and model, their durations, requests in flight, rejections by reason;
//   - what the model repository, each served model version and the embedding cache already
//     keep (Index(), Stats(), the circuit breaker, cache level counters), read when
//     /metrics is scraped instead of being counted a second time on the inference path;
//   - the process itself (CPU time, memory, threads) from /proc/self, also read at scrape.
// One object per server, owned by whoever runs it and passed by reference: there is no
// global registry, so tests and embedded uses each get their own.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/error.h"

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
class Registry;
template <typename T>
class Family;
}  // namespace prometheus

namespace mms::runtime {

class EmbeddingCache;
class ModelRepository;

// The label of mmserve_rejected_requests_total for a request that failed with `code`:
// unauthenticated, forbidden, rate_limited, too_large, timeout, unavailable (not ready,
// queue full, circuit breaker open, shutting down). nullptr for failures that are not
// refusals (bad input, unknown model, internal errors).
const char* RejectionReason(ErrorCode code);

class Metrics {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // --- the HTTP layer (api/request_handler's WrapRoute) ---
  void RequestStarted();
  // `route` is the route's pattern ("/v2/models/{model}/infer"), never the raw path, and
  // `model` a model the repository resolved ("" when none): client-chosen strings never
  // become label values, so the number of series stays bounded.
  void RequestFinished(const std::string& route, int status, const std::string& model, double seconds);
  // A request that matched no route, or that httplib refused before routing (404, 413).
  void RequestUnrouted(int status);
  // Counts the refusal when `code` is one (see RejectionReason).
  void CountRejection(ErrorCode code);

  // The embedding cache the models share (null: none), whose levels are reported at
  // scrape time. Set before serving.
  void WatchCache(std::shared_ptr<const EmbeddingCache> cache) { cache_ = std::move(cache); }

  // Every metric in Prometheus text format 0.0.4; the model and process values are read now.
  std::string Exposition(const ModelRepository& repository) const;
  static constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

 private:
  std::unique_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* requests_;
  prometheus::Family<prometheus::Histogram>* request_duration_;
  prometheus::Gauge* inflight_;
  prometheus::Counter* rate_limited_;
  prometheus::Family<prometheus::Counter>* rejected_;
  std::shared_ptr<const EmbeddingCache> cache_;
};

}  // namespace mms::runtime
