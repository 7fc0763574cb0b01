#include "models/clip/clip_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/error.h"
#include "engine/op_profile.h"
#include "engine/ops/packed_matmul.h"
#include "io/checkpoint.h"

namespace mms::models {

namespace {

// The op profile's name for the text tower (that of its layers, from their weight names).
constexpr const char* kTextScope = "text_model.encoder";

enum Slot : size_t {
  // Slots 0..3 belong to the encoder layers (see transformer_encoder_layer.cpp), the
  // vision tower's below its kFirstFreeSlot.
  kHidden = 8,
  kPooled = ClipVisionTower::kFirstFreeSlot,
};

layers::EncoderLayerConfig LayerConfig(const ClipTowerConfig& t) {
  return {t.hidden_size, t.intermediate_size, t.num_heads, t.activation, t.layer_norm_eps};
}

// Which precision each group of matrix products runs in when the model runs `p`.
// Measured on the golden images and texts (tiny checkpoint) and on a random ViT-B/32
// (bench/check_precision_full_size.sh): running the patch embedding and the projections
// in bf16 or int8 too moved the minimum cosine to fp32 by less than 1e-4 either way, so
// accuracy asks for fp32 in neither place. The patch embedding follows the model's
// precision because its FLOPs count (K = 3·p·p = 3072 for ViT-B/32: as much as one fc1);
// the projections stay fp32 because they cost nothing (one row per image or text) and
// are the last product before the embedding, where an error is not averaged away.
struct PrecisionPlan {
  Precision layers;           // q/k/v, out_proj, fc1, fc2 of every encoder layer
  Precision patch_embedding;  // the stride-p convolution as a matrix product
  Precision projections;      // visual_projection, text_projection
};

PrecisionPlan PlanFor(Precision p) { return {p, p, Precision::kFp32}; }

}  // namespace

std::vector<std::string> ClipModel::Int8WeightNames(const ClipConfig& c) {
  const PrecisionPlan plan = PlanFor(Precision::kInt8);
  std::vector<std::string> names;
  auto add = [&](Precision p, const std::vector<std::string>& more) {
    if (p == Precision::kInt8) names.insert(names.end(), more.begin(), more.end());
  };
  names = ClipVisionTower::Int8WeightNames("vision_model", c.vision.num_layers, plan.layers, plan.patch_embedding);
  for (int64_t i = 0; i < c.text.num_layers; ++i) {
    add(plan.layers, layers::TransformerEncoderLayer::WeightNamesHF("text_model.encoder.layers." + std::to_string(i)));
  }
  add(plan.projections, {"visual_projection.weight", "text_projection.weight"});
  return names;
}

std::unique_ptr<ClipModel> ClipModel::Load(const std::string& dir, Precision requested) {
  std::unique_ptr<ClipModel> m(new ClipModel());
  m->config_ = ClipConfig::FromFile(dir + "/config.json");
  m->precision_ = ops::RunnablePrecision(requested, &m->precision_note_);
  const PrecisionPlan plan = PlanFor(m->precision_);
  const ClipConfig& c = m->config_;
  const io::Checkpoint ckpt = io::Checkpoint::Open(dir);

  // logit_scale is stored as its log; a scalar [] in HF checkpoints.
  const Tensor raw_scale = ckpt.Raw("logit_scale");
  if (raw_scale.numel() != 1) ThrowInvalidModel(dir + ": tensor \"logit_scale\" must hold one value, has shape " + raw_scale.ShapeString());
  m->logit_scale_ = std::exp(ckpt.Float32("logit_scale", raw_scale.shape()).data<float>()[0]);

  // Vision tower.
  const auto& v = c.vision;
  m->vision_ = ClipVisionTower::Load(ckpt, "vision_model", v, v.num_layers, /*with_post_layernorm=*/true, plan.layers,
                                     plan.patch_embedding);
  m->visual_projection_ =
      layers::Linear::Load(ckpt, "visual_projection", v.hidden_size, c.projection_dim, false, plan.projections);

  // Text tower.
  const auto& t = c.text;
  m->token_embedding_ = ckpt.Float32("text_model.embeddings.token_embedding.weight", {t.vocab_size, t.hidden_size});
  m->text_positions_ = ckpt.Float32("text_model.embeddings.position_embedding.weight", {t.max_positions, t.hidden_size});
  for (int64_t i = 0; i < t.num_layers; ++i) {
    m->text_layers_.push_back(layers::TransformerEncoderLayer::LoadHF(
        ckpt, "text_model.encoder.layers." + std::to_string(i), LayerConfig(t), plan.layers));
  }
  m->final_layernorm_ = layers::LayerNorm::Load(ckpt, "text_model.final_layer_norm", t.hidden_size, t.layer_norm_eps);
  m->text_projection_ =
      layers::Linear::Load(ckpt, "text_projection", t.hidden_size, c.projection_dim, false, plan.projections);
  return m;
}

void ClipModel::EncodeImages(const float* pixels, int64_t n, float* out, Workspace& ws) const {
  if (n == 0) return;
  const int64_t d = config_.vision.hidden_size, seq = vision_.sequence_length();
  const float* hidden = vision_.Forward(pixels, n, ws);
  profile::Timer timer(vision_.profile_scope().c_str(), -1);
  float* pooled = ws.Buffer(kPooled, n * d);
  for (int64_t b = 0; b < n; ++b) std::memcpy(pooled + b * d, hidden + b * seq * d, d * sizeof(float));
  vision_.post_layernorm().Forward(pooled, n, pooled);
  visual_projection_.Forward(pooled, n, out);
  timer.Lap("head");
}

void ClipModel::EncodeTexts(const std::vector<std::vector<int32_t>>& ids, float* out, Workspace& ws) const {
  const int64_t n = static_cast<int64_t>(ids.size());
  if (n == 0) return;
  const auto& t = config_.text;
  const int64_t d = t.hidden_size;
  // The causal mask means no position attends past itself, so a batch only needs to run
  // up to its longest sequence: shorter ones are padded, and the padding changes nothing
  // at or before their end-of-text position.
  int64_t seq = 1;
  for (const auto& s : ids) {
    if (s.empty()) ThrowInvalidArgument("empty token sequence");
    if (static_cast<int64_t>(s.size()) > t.max_positions) {
      ThrowInvalidArgument("token sequence of " + std::to_string(s.size()) + " exceeds the model's " +
                           std::to_string(t.max_positions) + " positions");
    }
    seq = std::max<int64_t>(seq, s.size());
  }
  profile::CountPass(kTextScope, n * seq);
  profile::Timer timer(kTextScope, -1);
  float* hidden = ws.Buffer(kHidden, n * seq * d);
  const float* tokens = token_embedding_.data<float>();
  const float* pos = text_positions_.data<float>();
  std::vector<int64_t> pool_at(n);
  for (int64_t b = 0; b < n; ++b) {
    const auto& s = ids[b];
    for (int64_t i = 0; i < seq; ++i) {
      float* h = hidden + (b * seq + i) * d;
      if (i < static_cast<int64_t>(s.size())) {
        const int32_t id = s[i];
        if (id < 0 || id >= t.vocab_size) ThrowInvalidArgument("token id " + std::to_string(id) + " outside the vocabulary");
        for (int64_t j = 0; j < d; ++j) h[j] = tokens[id * d + j] + pos[i * d + j];
      } else {
        std::memset(h, 0, d * sizeof(float));
      }
    }
    pool_at[b] = std::max_element(s.begin(), s.end()) - s.begin();  // first occurrence of the highest id
  }
  timer.Lap("embed");
  for (const auto& layer : text_layers_) layer.Forward(hidden, n, seq, /*causal=*/true, ws);
  timer = profile::Timer(kTextScope, -1);

  float* pooled = ws.Buffer(kPooled, n * d);
  for (int64_t b = 0; b < n; ++b) std::memcpy(pooled + b * d, hidden + (b * seq + pool_at[b]) * d, d * sizeof(float));
  final_layernorm_.Forward(pooled, n, pooled);  // per-row, so normalizing only pooled rows is exact
  text_projection_.Forward(pooled, n, out);
  timer.Lap("head");
}

}  // namespace mms::models
