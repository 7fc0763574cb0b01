// Metrics read at scrape time from what already keeps them: the model repository (states,
// load times), each loaded version's statistics and circuit breaker, the embedding cache's
// levels, and /proc/self.
// Nothing here counts anything itself.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <prometheus/metric_family.h>

namespace mms::runtime {

class EmbeddingCache;
class ModelRepository;

// Per model version: mmserve_model_state, mmserve_model_load_seconds,
// mmserve_circuit_breaker_state, mmserve_inference_requests_total,
// mmserve_inference_items_total, mmserve_executions_total, mmserve_queue_length,
// mmserve_inference_queue_seconds, mmserve_inference_compute_seconds, mmserve_batch_size,
// mmserve_cache_requests_total (versions that use the cache; the levels `cache` has, both
// when it is not given). Every family is present, without series while no model is loaded.
std::vector<prometheus::MetricFamily> CollectModelMetrics(const ModelRepository& repository,
                                                          const EmbeddingCache* cache = nullptr);

// Per generative model version: time to first token, inter-token latency, end-to-end and
// queue time (histograms), prompt / generated / computed token counters, running and
// waiting sequences, KV-cache blocks in use, prefix-cache lookups, preemptions, steps.
std::vector<prometheus::MetricFamily> CollectGenerationMetrics(const ModelRepository& repository);

// The shared cache's levels: mmserve_cache_entries, mmserve_cache_bytes,
// mmserve_cache_capacity_bytes, mmserve_cache_evictions_total, mmserve_cache_errors_total,
// mmserve_cache_up. Nothing without a cache.
std::vector<prometheus::MetricFamily> CollectCacheMetrics(const EmbeddingCache* cache);

// What /proc/self/stat says, in base units.
struct ProcessStats {
  double cpu_seconds = 0;  // user + system
  double resident_bytes = 0;
  double virtual_bytes = 0;
  double threads = 0;
  double start_time_seconds = 0;  // since the Unix epoch
  double open_fds = 0;
};
// nullopt when /proc cannot be read (not Linux, or a sandbox without it).
std::optional<ProcessStats> ReadProcessStats();

// process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
// process_threads, process_start_time_seconds, process_open_fds: the names Prometheus's own
// client libraries use, so that existing dashboards work.
std::vector<prometheus::MetricFamily> CollectProcessMetrics();

}  // namespace mms::runtime
