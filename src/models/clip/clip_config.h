// CLIPConfig as Hugging Face writes it in config.json (text_config / vision_config).
// Every size comes from the file, so ViT-B/32, B/16, L/14 and L/14-336 need no code.
#pragma once

#include <string>

#include "engine/ops/activation.h"

namespace mms::models {

struct ClipTowerConfig {
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  ops::Activation activation = ops::Activation::kQuickGelu;
  float layer_norm_eps = 1e-5f;
};

struct ClipVisionConfig : ClipTowerConfig {
  int64_t image_size = 224;
  int64_t patch_size = 32;
  int64_t num_channels = 3;
  int64_t num_patches() const { return (image_size / patch_size) * (image_size / patch_size); }
};

struct ClipTextConfig : ClipTowerConfig {
  int64_t vocab_size = 49408;
  int64_t max_positions = 77;
};

struct ClipConfig {
  ClipVisionConfig vision;
  ClipTextConfig text;
  int64_t projection_dim = 512;

  static ClipConfig FromFile(const std::string& path);
};

}  // namespace mms::models
