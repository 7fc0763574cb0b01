// One model version being served: the loaded pipeline, its instances, and the dynamic
// batchers in front of them (images and texts batch separately). Requests from any
// thread call Embed*/Classify; preprocessing runs on the caller's thread, so it overlaps
// with inference of other requests, and the forward passes run on the batchers' instance
// threads. Statistics are kept as Triton's statistics extension reports them.
#pragma once

#include <atomic>
#include <functional>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/model_config.h"
#include "models/clip/clip_pipeline.h"
#include "runtime/circuit_breaker.h"
#include "runtime/dynamic_batcher.h"
#include "runtime/embedding_cache.h"
#include "runtime/fault_injection.h"
#include "runtime/memory_budget.h"

namespace mms {
class Logger;
}

namespace mms::runtime {

// Settings that apply to every model unless its config.pbtxt says otherwise.
struct ServingDefaults {
  models::ClipOptions clip;      // image pipeline, decode limits, compute threads per instance
  int max_batch_size = 32;       // used when config.pbtxt gives none (or there is none)
  std::chrono::microseconds max_queue_delay{2000};
  bool dynamic_batching = true;  // without config.pbtxt; a config.pbtxt decides for itself
  // Shared by every model; null = no caching. config.pbtxt's parameter "cache" = "off"
  // opts a model out.
  std::shared_ptr<EmbeddingCache> cache;
  BreakerOptions breaker;        // per model version
  // Memory one loaded copy may use, weights included (config.pbtxt's parameter
  // "memory_budget_mb" overrides it); the largest batch of each tower is derived from it.
  // 0 = no budget: the configured max_batch_size alone.
  uint64_t memory_budget_bytes = 0;
  Logger* logger = nullptr;  // breaker state changes are logged here
};

struct DurationStat {
  uint64_t count = 0;
  uint64_t ns = 0;
};

// Items (images, texts) looked up in the embedding cache, by level. What misses the
// memory level is looked up in Redis: redis_hits + redis_misses = memory_misses when
// both levels are on.
struct CacheItemStats {
  uint64_t memory_hits = 0, memory_misses = 0;
  uint64_t redis_hits = 0, redis_misses = 0;
};

struct BatchSizeStat {
  int batch_size = 0;
  DurationStat compute_infer;
};

// Triton's per-version statistics.
struct ModelStats {
  uint64_t last_inference_ms = 0;  // milliseconds since the epoch
  uint64_t inference_count = 0;    // items inferred (a batch of 8 counts 8)
  uint64_t execution_count = 0;    // batches executed
  DurationStat success, fail, queue, compute_input, compute_infer, compute_output;
  // Triton's cache_hit / cache_miss: requests answered wholly from the embedding cache
  // (they run no batch, so inference_count and execution_count stay put), and requests
  // that looked up the cache and computed something; ns = time spent in the cache.
  DurationStat cache_hit, cache_miss;
  CacheItemStats cache_items;
  std::vector<BatchSizeStat> batch_stats;
  size_t queue_length = 0;
};

class ServedModel {
 public:
  // Loads the checkpoint in `dir` and starts the batchers. Throws on any load error.
  static std::shared_ptr<ServedModel> Load(const std::string& name, int64_t version, const std::string& dir,
                                           const io::ModelConfig& config, const ServingDefaults& defaults);
  ~ServedModel();

  const std::string& name() const { return name_; }
  int64_t version() const { return version_; }
  const std::string& dir() const { return dir_; }
  const io::ModelConfig& config() const { return config_; }
  const models::ClipPipeline& pipeline() const { return *pipeline_; }
  int64_t embed_dim() const { return pipeline_->model().embed_dim(); }
  // What this copy needs in memory: weights, and bytes per batch item of each tower.
  const MemoryEstimate& memory_estimate() const { return memory_estimate_; }
  // The largest batch a tower ("image", "text") runs: the configured one, lowered by the
  // memory budget; and the ceiling it runs under now, lowered by allocation failures.
  int max_batch_size(const std::string& part) const;
  int batch_ceiling(const std::string& part) const;
  // What loading a copy of the checkpoint in `dir` with `config` will take: its memory
  // budget where it has one, else the bytes of its weight files. The repository checks
  // it against the memory available before loading a copy next to one that serves.
  static uint64_t MemoryToLoad(const std::string& dir, const io::ModelConfig& config, const ServingDefaults& defaults);
  float logit_scale() const { return pipeline_->model().logit_scale(); }

  // Each image / text is one batcher item. Errors: the input's (kUnsupportedMedia,
  // kTooLarge, kInvalidArgument), or kUnavailable when the queue is full, kTimeout when
  // the request waited longer than its timeout (default: the config's).
  models::Embeddings EmbedImages(const std::vector<std::string_view>& encoded_images,
                                 std::optional<std::chrono::microseconds> timeout = {});
  models::Embeddings EmbedTexts(const std::vector<std::string>& texts,
                                std::optional<std::chrono::microseconds> timeout = {});
  // Zero-shot scores, sorted highest first.
  std::vector<models::LabelScore> Classify(std::string_view encoded_image, const std::vector<std::string>& texts);
  // Both halves and the scores of one request (KServe's IMAGE + TEXT): logits[i][t] and
  // probs[i][t] for image i and text t.
  struct JointResult {
    models::Embeddings images, texts;
    std::vector<std::vector<float>> logits, probs;
  };
  JointResult EmbedBoth(const std::vector<std::string_view>& encoded_images, const std::vector<std::string>& texts,
                        std::optional<std::chrono::microseconds> timeout = {});

  ModelStats Stats() const;
  bool caching() const { return cache_ != nullptr; }

  // How a health probe went. kBusy says nothing about the model's health: the probe could
  // not run in time (queue full, timed out in the queue, no answer by the deadline, shutting
  // down, or memory short for the moment). Only kFailed is an execution that failed.
  enum class ProbeOutcome { kHealthy = 0, kBusy = 1, kFailed = 2 };
  struct ProbeResult {
    ProbeOutcome outcome = ProbeOutcome::kHealthy;
    std::string detail;  // per part that was not healthy: "image: <why>; text: <why>"
  };
  // A tiny inference on each part of the model: a synthetic preprocessed image straight to
  // the image batcher and a short text straight to the text batcher (no cache, past the
  // breaker: it is how a health check finds out whether an open breaker may close). Both
  // are queued with `deadline` as their queue timeout and waited for until `deadline` at
  // most. The worst part decides the outcome. Never throws.
  ProbeResult Probe(std::chrono::milliseconds deadline);
  BreakerState breaker_state() const { return breaker_->state(); }
  // Whether requests are accepted now: the breaker is not open.
  bool healthy() const { return breaker_->state() != BreakerState::kOpen; }
  // Stops accepting work and finishes what is queued, up to `deadline`.
  void Shutdown(std::chrono::milliseconds deadline);

 private:
  ServedModel() = default;
  using Embedding = std::vector<float>;
  // computed = false: the request was answered from the cache, no compute_* statistics.
  void RecordRequest(bool ok, std::chrono::steady_clock::time_point start, uint64_t input_ns, uint64_t output_ns,
                     bool computed = true);
  // How the embeddings of one request's items were found.
  struct ItemsOutcome {
    uint64_t input_ns = 0;  // tokenizing, cache lookup, preprocessing what the cache lacked
    uint64_t cache_ns = 0;  // looking up and storing
    bool cache_used = false;
    bool computed = false;  // some item went to the encoders
  };
  // Fills r.images and r.texts: from the cache where it has them, from the encoders for
  // the rest (which are then stored in the cache).
  ItemsOutcome EmbedItems(const std::vector<std::string_view>& encoded_images, const std::vector<std::string>& texts,
                          std::optional<std::chrono::microseconds> timeout, std::chrono::steady_clock::time_point start,
                          JointResult& r);
  void RecordCacheLookup(const EmbeddingCache::Lookup& found, size_t items);

  std::string name_, dir_;
  int64_t version_ = 0;
  io::ModelConfig config_;
  std::unique_ptr<models::ClipPipeline> pipeline_;
  std::vector<std::unique_ptr<Workspace>> image_workspaces_;  // one per instance
  std::vector<std::unique_ptr<Workspace>> text_workspaces_;   // one per instance
  int threads_per_instance_ = 0;
  // Runs items [begin, begin + count) of the batch being executed.
  using RunRange = std::function<std::vector<Embedding>(size_t begin, size_t count)>;
  // Runs one batch of `part` ("image" or "text") in chunks no larger than its ceiling,
  // reporting the outcome to the breaker. An allocation failure splits the chunk in halves
  // (RunSplitting); one that fails a single item answers kUnavailable and is not a breaker
  // failure: memory pressure is not a broken model.
  std::vector<Embedding> Execute(const char* part, size_t batch_size, BatchCeiling& ceiling, const RunRange& run);
  void RunSplitting(const char* part, size_t begin, size_t count, BatchCeiling& ceiling, const RunRange& run,
                    std::vector<Embedding>& results);
  MemoryEstimate memory_estimate_;
  std::unique_ptr<BatchCeiling> image_ceiling_, text_ceiling_;
  Logger* logger_ = nullptr;
  std::unique_ptr<CircuitBreaker> breaker_;
  std::unique_ptr<FaultInjector> fault_injector_;  // null in production builds
  std::unique_ptr<DynamicBatcher<std::vector<float>, Embedding>> image_batcher_;
  std::unique_ptr<DynamicBatcher<std::vector<int32_t>, Embedding>> text_batcher_;

  std::shared_ptr<EmbeddingCache> cache_;  // null: not caching
  CacheKeyContext cache_key_;
  std::atomic<uint64_t> memory_hits_{0}, memory_misses_{0}, redis_hits_{0}, redis_misses_{0};

  mutable std::mutex stats_mutex_;
  DurationStat success_, fail_, compute_input_, compute_output_, cache_hit_, cache_miss_;
  std::atomic<uint64_t> last_inference_ms_{0};
};

}  // namespace mms::runtime
