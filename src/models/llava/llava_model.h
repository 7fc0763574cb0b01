// LlavaForConditionalGeneration (LLaVA-1.5) as Hugging Face defines it: a CLIP vision
// tower whose inner hidden state (vision_feature_layer) goes through a two-layer GELU
// projector into the language model's embedding space, where it replaces the embeddings
// of the prompt's <image> positions; the language model is the LLaMA family's decoder
// and runs the generation scheduler's steps unchanged.
//
// Both weight layouts transformers has written are read: "language_model.model.*",
// "language_model.lm_head.*", "vision_tower.*", "multi_modal_projector.*" (up to 4.51)
// and "model.language_model.*", "model.vision_tower.*", "model.multi_modal_projector.*",
// "lm_head.*" (after). Immutable after Load.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "models/clip/clip_vision_tower.h"
#include "models/generative_model.h"
#include "models/image_encoder.h"
#include "models/llama/llama_model.h"
#include "models/llava/llava_config.h"

namespace mms::models {

class LlavaModel final : public GenerativeModel, public ImageEncoder {
 public:
  // The vision tower (its layers up to vision_feature_layer only), the projector and the
  // language model all run their matrix products in `precision` (fp32 where this CPU has
  // no kernel for it: precision_note says so).
  static std::unique_ptr<LlavaModel> Load(const std::string& dir, Precision precision = Precision::kFp32,
                                          int threads = 0);

  // The weight matrices an int8 model runs in int8, as the checkpoint in `dir` names them:
  // what `mmserve quantize` may store as I8.
  static std::vector<std::string> Int8WeightNames(const std::string& dir);

  const LlavaConfig& config() const { return config_; }
  const LlamaModel& language_model() const { return *language_; }

  // GenerativeModel: the language model's.
  layers::KvCacheShape kv_cache_shape(int block_tokens) const override { return language_->kv_cache_shape(block_tokens); }
  int vocab_size() const override { return language_->vocab_size(); }
  int context_length() const override { return language_->context_length(); }
  int hidden_size() const override { return language_->hidden_size(); }
  Precision precision() const override { return language_->precision(); }
  const std::string& precision_note() const override { return language_->precision_note(); }
  const ImageEncoder* image_encoder() const override { return this; }
  void Step(std::span<const SequenceChunk> chunks, layers::PagedKvCache& cache, Workspace& workspace,
            std::vector<float>& logits) const override {
    language_->Step(chunks, cache, workspace, logits);
  }

  // ImageEncoder.
  int32_t image_token_id() const override { return config_.image_token_id; }
  int64_t positions_per_image() const override { return config_.image_seq_length; }
  int64_t feature_size() const override { return config_.text.hidden_size; }
  int64_t image_size() const override { return config_.vision.image_size; }
  void EncodeImages(const float* pixels, int64_t n, float* features, Workspace& ws) const override;

 private:
  LlavaModel() = default;

  LlavaConfig config_;
  std::unique_ptr<LlamaModel> language_;
  ClipVisionTower vision_;
  layers::Linear projector_1_, projector_2_;  // linear_1 -> GELU (erf) -> linear_2
};

}  // namespace mms::models
