// LlavaConfig as transformers defines it: a CLIP vision tower (vision_config), a
// LLaMA-family language model (text_config) and the projector between them. Fields a
// config.json leaves out take transformers' defaults (llava-hf's 7B layout: a 336 px
// ViT-L/14 tower, LLaMA text model, <image> = 32000, 576 positions per image).
#pragma once

#include <cstdint>
#include <string>

#include "models/clip/clip_config.h"
#include "models/llama/llama_config.h"

namespace mms::models {

enum class VisionFeatureSelect {
  kDefault,  // the patch positions only (the class token dropped)
  kFull,     // the class token too
};

struct LlavaConfig {
  ClipVisionConfig vision;
  LlamaConfig text;
  int32_t image_token_id = 32000;
  // Which hidden state of the vision encoder becomes the image features, as an index into
  // transformers' hidden_states (0 = after pre_layrnorm, k = after k layers); negative
  // counts from the end (-1 = the last layer's output). Stored resolved: 0..num_layers.
  int64_t vision_feature_layer = 0;
  VisionFeatureSelect feature_select = VisionFeatureSelect::kDefault;
  int64_t image_seq_length = 576;  // positions per image; must match the tower and the strategy
  bool projector_bias = true;

  static LlavaConfig FromFile(const std::string& path);
};

}  // namespace mms::models
