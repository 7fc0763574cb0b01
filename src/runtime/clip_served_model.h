// A CLIP model version being served (the encoder-batching kind of ServedModel): the
// loaded pipeline, its instances, and the dynamic batchers in front of them (images and
// texts batch separately). Requests from any
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
#include "runtime/served_model.h"
#include "models/clip/clip_pipeline.h"
#include "runtime/circuit_breaker.h"
#include "runtime/dynamic_batcher.h"
#include "runtime/embedding_cache.h"
#include "runtime/fault_injection.h"
#include "runtime/memory_budget.h"

namespace mms {
class Logger;
class WorkerPool;
}

namespace mms::runtime {

class ClipServedModel final : public ServedModel {
 public:
  // Loads the checkpoint in `dir` and starts the batchers. Throws on any load error.
  static std::shared_ptr<ClipServedModel> Load(const std::string& name, int64_t version, const std::string& dir,
                                           const io::ModelConfig& config, const ServingDefaults& defaults);
  ~ClipServedModel() override;

  const char* family() const override { return "clip"; }
  models::SchedulingKind scheduling() const override { return models::SchedulingKind::kEncoderBatching; }
  ClipServedModel* AsClip() override { return this; }
  std::vector<TensorSpec> kserve_inputs() const override;
  std::vector<TensorSpec> kserve_outputs() const override;
  const char* precision_name() const override { return PrecisionName(pipeline_->model().precision()); }
  std::string precision_note() const override { return pipeline_->model().precision_note(); }
  const models::ClipPipeline& pipeline() const { return *pipeline_; }
  int64_t embed_dim() const { return pipeline_->model().embed_dim(); }
  // What this copy needs in memory: weights, and bytes per batch item of each tower.
  const MemoryEstimate& memory_estimate() const override { return memory_estimate_; }
  // The largest batch a tower ("image", "text") runs: the configured one, lowered by the
  // memory budget; and the ceiling it runs under now, lowered by allocation failures.
  int max_batch_size(const std::string& part) const;
  int batch_ceiling(const std::string& part) const;
  // ServedModel::MemoryToLoad for a CLIP checkpoint.
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

  // The encoders as requests reach them, past decoding and tokenizing: preprocessed images
  // (pipeline().image_floats() each) or token ids, queued on the towers' batchers as one
  // request and waited for. `mmserve bench` measures the server's path through these.
  std::vector<std::vector<float>> EncodePreprocessedImages(std::vector<std::vector<float>> pixels);
  std::vector<std::vector<float>> EncodeTokenIds(std::vector<std::vector<int32_t>> ids);

  ModelStats Stats() const override;
  bool caching() const { return cache_ != nullptr; }

  // A tiny inference on each part of the model: a synthetic preprocessed image straight to
  // the image batcher and a short text straight to the text batcher (no cache, past the
  // breaker: it is how a health check finds out whether an open breaker may close). Both
  // are queued with `deadline` as their queue timeout and waited for until `deadline` at
  // most. The worst part decides the outcome. Never throws.
  ProbeResult Probe(std::chrono::milliseconds deadline) override;
  BreakerState breaker_state() const override { return breaker_->state(); }
  void Shutdown(std::chrono::milliseconds deadline) override;

 private:
  ClipServedModel() = default;
  friend class ServedModel;
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
  // Decoded and preprocessed images, in order, on preprocess_pool_ when there is one; the
  // first bad image's error (in request order) once every image of the call has finished.
  std::vector<std::vector<float>> PreprocessImages(const std::vector<std::string_view>& encoded,
                                                   media::PixelBudget& budget) const;

  std::unique_ptr<models::ClipPipeline> pipeline_;
  std::unique_ptr<WorkerPool> preprocess_pool_;               // null with one thread
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
