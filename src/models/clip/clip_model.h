// CLIP's two towers and its logit scale, loaded from a Hugging Face checkpoint.
// The object is immutable after Load and may be used by many threads at once, each
// with its own Workspace.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/precision.h"
#include "layers/layer_norm.h"
#include "layers/linear.h"
#include "layers/transformer_encoder_layer.h"
#include "layers/workspace.h"
#include "models/clip/clip_config.h"
#include "models/clip/clip_vision_tower.h"

namespace mms::models {

class ClipModel {
 public:
  // The encoder layers' matrix products run in `precision` (see clip_model.cpp for which
  // others do); where this CPU has no fast kernel for it, in fp32 (precision_note says so).
  static std::unique_ptr<ClipModel> Load(const std::string& checkpoint_dir, Precision precision = Precision::kFp32);
  // The weight matrices an int8 model runs in int8: what `mmserve quantize` stores as I8.
  static std::vector<std::string> Int8WeightNames(const ClipConfig& config);

  const ClipConfig& config() const { return config_; }
  int64_t embed_dim() const { return config_.projection_dim; }
  // exp(logit_scale): the temperature applied to cosine similarities.
  float logit_scale() const { return logit_scale_; }
  // The precision the model runs in, and why it is not the one asked for (empty if it is).
  Precision precision() const { return precision_; }
  const std::string& precision_note() const { return precision_note_; }

  // pixels: [n, 3, image_size, image_size], normalized. out: [n, projection_dim], not normalized.
  void EncodeImages(const float* pixels, int64_t n, float* out, Workspace& ws) const;
  // Each sequence holds token ids (start and end of text included), at most max_positions.
  // The embedding is read at the first occurrence of the highest id (the end-of-text token).
  void EncodeTexts(const std::vector<std::vector<int32_t>>& ids, float* out, Workspace& ws) const;

 private:
  ClipModel() = default;

  ClipConfig config_;
  float logit_scale_ = 1.0f;
  Precision precision_ = Precision::kFp32;
  std::string precision_note_;

  // Vision tower.
  ClipVisionTower vision_;
  layers::Linear visual_projection_;

  // Text tower.
  Tensor token_embedding_;  // [vocab, hidden]
  Tensor text_positions_;   // [max_positions, hidden]
  std::vector<layers::TransformerEncoderLayer> text_layers_;
  layers::LayerNorm final_layernorm_;
  layers::Linear text_projection_;
};

}  // namespace mms::models
