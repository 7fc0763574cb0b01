#include "models/clip/clip_vision_tower.h"

#include <algorithm>
#include <cstring>

#include "engine/op_profile.h"
#include "io/checkpoint.h"

namespace mms::models {

namespace {

enum Slot : size_t {
  kHidden = 8,
  kPatches,
  kPatchOut,
};
static_assert(kPatchOut < ClipVisionTower::kFirstFreeSlot);

std::string LayerPrefix(const std::string& prefix, int64_t i) { return prefix + ".encoder.layers." + std::to_string(i); }

}  // namespace

std::vector<std::string> ClipVisionTower::Int8WeightNames(const std::string& prefix, int64_t num_layers,
                                                          Precision layers_precision, Precision patch_precision) {
  std::vector<std::string> names;
  if (layers_precision == Precision::kInt8) {
    for (int64_t i = 0; i < num_layers; ++i) {
      const auto more = layers::TransformerEncoderLayer::WeightNamesHF(LayerPrefix(prefix, i));
      names.insert(names.end(), more.begin(), more.end());
    }
  }
  if (patch_precision == Precision::kInt8) names.push_back(prefix + ".embeddings.patch_embedding.weight");
  return names;
}

ClipVisionTower ClipVisionTower::Load(const io::Checkpoint& ckpt, const std::string& prefix,
                                      const ClipVisionConfig& v, int64_t num_layers, bool with_post_layernorm,
                                      Precision layers_precision, Precision patch_precision) {
  ClipVisionTower t;
  t.config_ = v;
  t.profile_scope_ = prefix + ".encoder";
  const int64_t patch_in = v.num_channels * v.patch_size * v.patch_size;
  const std::vector<int64_t> conv_shape = {v.hidden_size, v.num_channels, v.patch_size, v.patch_size};
  const std::string conv_name = prefix + ".embeddings.patch_embedding.weight";
  if (patch_precision == Precision::kInt8 && ckpt.IsInt8(conv_name)) {
    const io::Int8Tensor conv = ckpt.Int8(conv_name, conv_shape);
    t.patch_embedding_ = layers::Linear::FromOutInInt8(conv.values.data<int8_t>(), conv.scales.data<float>(),
                                                       v.hidden_size, patch_in, nullptr);
  } else {
    const Tensor conv = ckpt.Float32(conv_name, conv_shape);
    t.patch_embedding_ = layers::Linear::FromOutIn(conv.data<float>(), v.hidden_size, patch_in, nullptr, patch_precision);
  }
  t.class_embedding_ = ckpt.Float32(prefix + ".embeddings.class_embedding", {v.hidden_size});
  t.positions_ = ckpt.Float32(prefix + ".embeddings.position_embedding.weight", {v.num_patches() + 1, v.hidden_size});
  // "pre_layrnorm" is how transformers spells it in every CLIP checkpoint.
  t.pre_layernorm_ = layers::LayerNorm::Load(ckpt, prefix + ".pre_layrnorm", v.hidden_size, v.layer_norm_eps);
  if (with_post_layernorm) {
    t.post_layernorm_ = layers::LayerNorm::Load(ckpt, prefix + ".post_layernorm", v.hidden_size, v.layer_norm_eps);
  }
  const layers::EncoderLayerConfig layer_config{v.hidden_size, v.intermediate_size, v.num_heads, v.activation,
                                                v.layer_norm_eps};
  for (int64_t i = 0; i < num_layers; ++i) {
    t.layers_.push_back(
        layers::TransformerEncoderLayer::LoadHF(ckpt, LayerPrefix(prefix, i), layer_config, layers_precision));
  }
  return t;
}

float* ClipVisionTower::Forward(const float* pixels, int64_t n, Workspace& ws) const {
  const auto& v = config_;
  const int64_t d = v.hidden_size, p = v.patch_size, grid = v.image_size / p;
  const int64_t patches = grid * grid, seq = patches + 1, patch_in = v.num_channels * p * p;
  const int64_t image_floats = v.num_channels * v.image_size * v.image_size;
  float* hidden = ws.Buffer(kHidden, static_cast<size_t>(std::max<int64_t>(n, 1) * seq * d));
  if (n == 0) return hidden;

  // The stride-p convolution is a matrix product over unfolded patches, each flattened
  // in the kernel's (channel, row, column) order.
  profile::CountPass(profile_scope_.c_str(), n * seq);
  profile::Timer timer(profile_scope_.c_str(), -1);
  float* unfolded = ws.Buffer(kPatches, n * patches * patch_in);
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t gy = 0; gy < grid; ++gy) {
      for (int64_t gx = 0; gx < grid; ++gx) {
        float* dst = unfolded + ((b * patches) + gy * grid + gx) * patch_in;
        for (int64_t ch = 0; ch < v.num_channels; ++ch) {
          for (int64_t y = 0; y < p; ++y) {
            const float* src = pixels + b * image_floats + ch * v.image_size * v.image_size +
                               (gy * p + y) * v.image_size + gx * p;
            std::memcpy(dst + (ch * p + y) * p, src, p * sizeof(float));
          }
        }
      }
    }
  }
  float* patch_out = ws.Buffer(kPatchOut, n * patches * d);
  patch_embedding_.Forward(unfolded, n * patches, patch_out);

  const float* pos = positions_.data<float>();
  const float* cls = class_embedding_.data<float>();
  for (int64_t b = 0; b < n; ++b) {
    float* h = hidden + b * seq * d;
    for (int64_t j = 0; j < d; ++j) h[j] = cls[j] + pos[j];
    for (int64_t i = 1; i < seq; ++i) {
      const float* src = patch_out + (b * patches + i - 1) * d;
      for (int64_t j = 0; j < d; ++j) h[i * d + j] = src[j] + pos[i * d + j];
    }
  }
  pre_layernorm_.Forward(hidden, n * seq, hidden);
  timer.Lap("embed");
  for (const auto& layer : layers_) layer.Forward(hidden, n, seq, /*causal=*/false, ws);
  return hidden;
}

}  // namespace mms::models
