// A generative model version being served (the iteration-level kind of ServedModel): the
// decoder, its tokenizer and chat template, and the generation engine that schedules its
// sequences token by token. Routes turn API requests into GenerationRequests (prompt ids,
// sampling) and receive tokens through a TokenSink; everything family-specific stays in
// the family's GenerativeModel.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "generation/generation_engine.h"
#include "runtime/image_feature_encoder.h"
#include "runtime/served_model.h"

namespace mms::text {
class HfTokenizer;
struct TokenizerConfig;
}  // namespace mms::text
namespace mms::tmpl {
class ChatTemplate;
}
namespace mms::generation {
class TokenVocabularyBytes;
}

namespace mms::models {
class ImageEncoder;
}

namespace mms::runtime {

class SpeechService;

// Latencies of a generation, as Prometheus histograms read them: cumulative counts per
// upper bound, a sum and a count. Lock-free to record.
class LatencyHistogram {
 public:
  static const std::vector<double>& Bounds();  // seconds
  void Observe(double seconds);
  struct Snapshot {
    std::vector<uint64_t> buckets;  // per bound, not cumulative
    uint64_t count = 0;
    double sum = 0;
  };
  Snapshot Read() const;

 private:
  std::atomic<uint64_t> buckets_[24] = {};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_us_{0};
};

struct GenerationMetricsSnapshot {
  LatencyHistogram::Snapshot time_to_first_token, inter_token, end_to_end, queue;
  uint64_t prompt_tokens = 0, generated_tokens = 0;
  uint64_t requests_ok = 0, requests_failed = 0;
  generation::EngineStats engine;
};

class GenerativeServedModel final : public ServedModel {
 public:
  static std::shared_ptr<GenerativeServedModel> Load(const std::string& name, int64_t version, const std::string& dir,
                                                     const io::ModelConfig& config, const ServingDefaults& defaults,
                                                     const models::FamilyInfo& family);
  static uint64_t MemoryToLoad(const std::string& dir, const io::ModelConfig& config, const ServingDefaults& defaults);
  ~GenerativeServedModel() override;

  const char* family() const override { return family_name_; }
  models::SchedulingKind scheduling() const override { return scheduling_; }
  GenerativeServedModel* AsGenerator() override { return this; }
  std::vector<TensorSpec> kserve_inputs() const override;
  std::vector<TensorSpec> kserve_outputs() const override;
  const MemoryEstimate& memory_estimate() const override { return memory_estimate_; }
  const char* precision_name() const override { return PrecisionName(model_->precision()); }
  std::string precision_note() const override { return model_->precision_note(); }
  ModelStats Stats() const override;
  ProbeResult Probe(std::chrono::milliseconds deadline) override;
  BreakerState breaker_state() const override { return breaker_->state(); }
  void Shutdown(std::chrono::milliseconds deadline) override;

  const text::HfTokenizer& tokenizer() const { return *tokenizer_; }
  const text::TokenizerConfig& tokenizer_config() const { return *tokenizer_config_; }
  // Null when the model has no chat template (chat requests are refused, completions work).
  const tmpl::ChatTemplate* chat_template() const { return chat_template_.get(); }
  int context_length() const { return model_->context_length(); }
  // Ids the tokenizer knows: logits rows beyond it are never sampled.
  int valid_vocab() const { return valid_vocab_; }
  // Every end-of-sequence id: generation_config.json's eos_token_id (one or a list), else
  // config.json's, else the tokenizer's eos_token.
  const std::vector<int32_t>& eos_token_ids() const { return eos_ids_; }
  // Sampling when a request sets nothing: generation_config.json's (do_sample false = greedy).
  const generation::SamplingParams& default_sampling() const { return default_sampling_; }
  // The bytes each token id adds to the text, for constrained decoding (built on first use).
  std::shared_ptr<const generation::TokenVocabularyBytes> vocabulary_bytes() const;

  // Queues one sequence (past the circuit breaker). Throws kUnavailable when the breaker is
  // open, the queue full or the model shutting down; kInvalidArgument for a prompt that
  // cannot fit. The sink is wrapped so that finishes feed the breaker and the metrics.
  uint64_t Submit(generation::GenerationRequest request, std::shared_ptr<generation::TokenSink> sink);
  void Cancel(uint64_t sequence_id);
  GenerationMetricsSnapshot Metrics() const;

  // Models that read images (LLaVA): the encoder's shape (null for text-only models), and
  // the features of a request's images, in order, from the cache or the image batcher.
  // Errors as ImageFeatureEncoder::Encode; kInvalidArgument for a text-only model.
  const models::ImageEncoder* image_encoder() const { return model_->image_encoder(); }
  std::vector<ImageFeatures> EncodeImages(const std::vector<std::string>& images, const std::vector<std::string>& where);
  std::optional<ImageFeatureStats> ImageStats() const;

  // Models that listen (Whisper): their transcription service; null for the others.
  SpeechService* speech() const { return speech_.get(); }

  // Recorded by the sink wrapper.
  struct Recorder;

 private:
  GenerativeServedModel() = default;

  const char* family_name_ = "";
  models::SchedulingKind scheduling_ = models::SchedulingKind::kGeneration;
  std::unique_ptr<models::GenerativeModel> model_;
  std::unique_ptr<text::HfTokenizer> tokenizer_;
  std::unique_ptr<text::TokenizerConfig> tokenizer_config_;
  std::unique_ptr<tmpl::ChatTemplate> chat_template_;
  int valid_vocab_ = 0;
  std::vector<int32_t> eos_ids_;
  generation::SamplingParams default_sampling_;
  MemoryEstimate memory_estimate_;
  std::unique_ptr<CircuitBreaker> breaker_;
  std::unique_ptr<ImageFeatureEncoder> images_;  // null for text-only models
  std::unique_ptr<SpeechService> speech_;        // null for models that do not listen
  std::unique_ptr<generation::GenerationEngine> engine_;
  mutable std::once_flag vocabulary_once_;
  mutable std::shared_ptr<const generation::TokenVocabularyBytes> vocabulary_;
  std::shared_ptr<Recorder> recorder_;
};

}  // namespace mms::runtime
