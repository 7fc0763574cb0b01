// One model version being served, whatever its family: what the repository, the health
// checker, the metrics and the routes see. A family's checkpoint is detected and loaded
// through the registry in models/model_family.h; each scheduling kind has its own
// subclass (ClipServedModel: encoder batching; GenerativeServedModel: iteration-level
// generation). Routes ask for the capability they need (AsClip, AsGenerator) and answer
// 400 naming the model when it does not have it.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "io/model_config.h"
#include "models/clip/clip_pipeline.h"
#include "models/model_family.h"
#include "runtime/circuit_breaker.h"
#include "runtime/embedding_cache.h"
#include "runtime/memory_budget.h"

namespace mms {
class Logger;
}

namespace mms::runtime {

class ClipServedModel;
class GenerativeServedModel;

// One tensor of a model's KServe signature (GET /v2/models/{m}).
struct TensorSpec {
  std::string name;
  std::string datatype;  // "BYTES", "FP32", ...
  std::vector<int64_t> shape;  // -1: any size
};

// Serving settings of generative models that config.pbtxt may override (parameters
// kv_cache_mb, max_running_sequences, max_tokens_per_step, max_waiting, block_tokens).
struct GenerationDefaults {
  uint64_t kv_cache_bytes = 256ull << 20;
  int max_running_sequences = 64;
  int max_tokens_per_step = 512;
  int max_waiting = 256;
  int block_tokens = 16;
  bool prefix_caching = true;
  std::string chat_template_file;  // --chat-template: overrides every model's template
};

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
  GenerationDefaults generation;  // generative families
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
  // Detects the family of the checkpoint in `dir` (or takes config.pbtxt's backend) and
  // loads it with the serving machinery of its scheduling kind. Throws on any load error.
  static std::shared_ptr<ServedModel> Load(const std::string& name, int64_t version, const std::string& dir,
                                           const io::ModelConfig& config, const ServingDefaults& defaults);
  // What loading a copy of the checkpoint in `dir` with `config` will take: its memory
  // budget where it has one, else the bytes of its weight files (plus a generative
  // model's KV cache). The repository checks it before loading a second copy.
  static uint64_t MemoryToLoad(const std::string& dir, const io::ModelConfig& config, const ServingDefaults& defaults);

  virtual ~ServedModel() = default;

  const std::string& name() const { return name_; }
  int64_t version() const { return version_; }
  const std::string& dir() const { return dir_; }
  const io::ModelConfig& config() const { return config_; }

  virtual const char* family() const = 0;
  virtual models::SchedulingKind scheduling() const = 0;
  // Capabilities: null when this model does not have them.
  virtual ClipServedModel* AsClip() { return nullptr; }
  virtual GenerativeServedModel* AsGenerator() { return nullptr; }

  // The KServe signature: what /v2/models/{m} lists as inputs and outputs.
  virtual std::vector<TensorSpec> kserve_inputs() const = 0;
  virtual std::vector<TensorSpec> kserve_outputs() const = 0;
  virtual const MemoryEstimate& memory_estimate() const = 0;
  // The precision the model runs in ("fp32", "bf16", "int8"), and why it differs from the
  // one asked for, if it does (a CPU without the instructions); for the load log line.
  virtual const char* precision_name() const = 0;
  virtual std::string precision_note() const { return {}; }
  virtual ModelStats Stats() const = 0;

  // How a health probe went. kBusy says nothing about the model's health: the probe could
  // not run in time (queue full, timed out in the queue, no answer by the deadline, shutting
  // down, or memory short for the moment). Only kFailed is an execution that failed.
  enum class ProbeOutcome { kHealthy = 0, kBusy = 1, kFailed = 2 };
  struct ProbeResult {
    ProbeOutcome outcome = ProbeOutcome::kHealthy;
    std::string detail;  // per part that was not healthy: "image: <why>; text: <why>"
  };
  // A tiny inference through the model's own scheduling path (past the breaker: it is how
  // a health check finds out whether an open breaker may close), waited for until
  // `deadline` at most. Never throws.
  virtual ProbeResult Probe(std::chrono::milliseconds deadline) = 0;
  virtual BreakerState breaker_state() const = 0;
  // Whether requests are accepted now: the breaker is not open.
  bool healthy() const { return breaker_state() != BreakerState::kOpen; }
  // Stops accepting work and finishes what is queued, up to `deadline`.
  virtual void Shutdown(std::chrono::milliseconds deadline) = 0;

 protected:
  ServedModel() = default;
  std::string name_, dir_;
  int64_t version_ = 0;
  io::ModelConfig config_;
};

}  // namespace mms::runtime
