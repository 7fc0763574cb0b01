// CLIP's vision transformer up to its last encoder layer: patch embedding (a stride-p
// convolution), class token and positions, pre_layrnorm, then the encoder layers. CLIP
// pools the class token of the output and projects it (clip_model.cpp); LLaVA takes the
// hidden states of an inner layer as image features (models/llava/). Both load the tower
// from the same Hugging Face names under their own prefix.
//
// Immutable after Load; concurrent Forward calls each bring their own Workspace.
#pragma once

#include <string>
#include <vector>

#include "engine/precision.h"
#include "layers/layer_norm.h"
#include "layers/linear.h"
#include "layers/transformer_encoder_layer.h"
#include "layers/workspace.h"
#include "models/clip/clip_config.h"

namespace mms::io {
class Checkpoint;
}

namespace mms::models {

class ClipVisionTower {
 public:
  // Workspace slots Forward uses (encoder layers take 0..3; callers pick others).
  static constexpr size_t kFirstFreeSlot = 16;

  // Reads "<prefix>.embeddings.*", "<prefix>.pre_layrnorm.*", the first `num_layers`
  // encoder layers and, when `with_post_layernorm`, "<prefix>.post_layernorm.*". The
  // encoder layers' products run in `layers_precision`, the patch embedding in
  // `patch_precision` (int8 weights stored by `mmserve quantize` are used as stored).
  static ClipVisionTower Load(const io::Checkpoint& ckpt, const std::string& prefix, const ClipVisionConfig& config,
                              int64_t num_layers, bool with_post_layernorm, Precision layers_precision,
                              Precision patch_precision);
  // The names of the matrices Load runs in int8 for those precisions.
  static std::vector<std::string> Int8WeightNames(const std::string& prefix, int64_t num_layers,
                                                  Precision layers_precision, Precision patch_precision);

  const ClipVisionConfig& config() const { return config_; }
  int64_t num_layers() const { return static_cast<int64_t>(layers_.size()); }
  // The op profile's name for this tower's layers and its embedding ("<prefix>.encoder").
  const std::string& profile_scope() const { return profile_scope_; }
  // Positions per image: the class token and one per patch.
  int64_t sequence_length() const { return config_.num_patches() + 1; }

  // pixels: [n, 3, image_size, image_size], normalized. Returns the hidden states after
  // the last loaded layer, [n, sequence_length(), hidden_size], in `ws` (valid until the
  // workspace's next use by this tower).
  float* Forward(const float* pixels, int64_t n, Workspace& ws) const;
  // Only loaded when asked for.
  const layers::LayerNorm& post_layernorm() const { return post_layernorm_; }

 private:
  std::string profile_scope_;
  ClipVisionConfig config_;
  layers::Linear patch_embedding_;  // [3·p·p, hidden] over unfolded patches, no bias
  Tensor class_embedding_;          // [hidden]
  Tensor positions_;                // [patches + 1, hidden]
  layers::LayerNorm pre_layernorm_, post_layernorm_;
  std::vector<layers::TransformerEncoderLayer> layers_;
};

}  // namespace mms::models
