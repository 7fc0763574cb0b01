#include "models/llava/llava_model.h"

#include <cstring>

#include "base/error.h"
#include "engine/ops/packed_matmul.h"
#include "io/checkpoint.h"

namespace mms::models {

namespace {

enum Slot : size_t {
  kSelected = ClipVisionTower::kFirstFreeSlot,  // the feature rows taken from the tower
  kProjected,                                   // after linear_1 and GELU
};

// Where a checkpoint keeps each part, by the layout transformers wrote it in.
struct Layout {
  std::vector<io::Checkpoint::PrefixRename> language;  // to LlamaForCausalLM's names
  std::string vision;                                  // the CLIPVisionTransformer's prefix
  std::string projector;
};

Layout DetectLayout(const io::Checkpoint& ckpt) {
  if (ckpt.Has("multi_modal_projector.linear_1.weight")) {
    return {{{"language_model.model.", "model."}, {"language_model.lm_head.", "lm_head."}},
            "vision_tower.vision_model",
            "multi_modal_projector"};
  }
  if (ckpt.Has("model.multi_modal_projector.linear_1.weight")) {
    return {{{"model.language_model.", "model."}, {"lm_head.", "lm_head."}},
            "model.vision_tower.vision_model",
            "model.multi_modal_projector"};
  }
  ThrowInvalidModel(ckpt.dir() +
                    ": no LLaVA projector found (neither \"multi_modal_projector.linear_1.weight\" nor "
                    "\"model.multi_modal_projector.linear_1.weight\")");
}

}  // namespace

std::vector<std::string> LlavaModel::Int8WeightNames(const std::string& dir) {
  const LlavaConfig c = LlavaConfig::FromFile(dir + "/config.json");
  const Layout layout = DetectLayout(io::Checkpoint::Open(dir));
  std::vector<std::string> names;
  for (const std::string& name : LlamaModel::Int8WeightNames(c.text)) {
    for (const auto& r : layout.language) {  // back to the names the file stores
      if (name.compare(0, r.to.size(), r.to) == 0) {
        names.push_back(r.from + name.substr(r.to.size()));
        break;
      }
    }
  }
  const auto vision = ClipVisionTower::Int8WeightNames(layout.vision, c.vision_feature_layer, Precision::kInt8,
                                                       Precision::kInt8);
  names.insert(names.end(), vision.begin(), vision.end());
  names.push_back(layout.projector + ".linear_1.weight");
  names.push_back(layout.projector + ".linear_2.weight");
  return names;
}

std::unique_ptr<LlavaModel> LlavaModel::Load(const std::string& dir, Precision precision, int threads) {
  std::unique_ptr<LlavaModel> m(new LlavaModel());
  m->config_ = LlavaConfig::FromFile(dir + "/config.json");
  const LlavaConfig& c = m->config_;
  const io::Checkpoint ckpt = io::Checkpoint::Open(dir);
  const Layout layout = DetectLayout(ckpt);

  m->language_ = LlamaModel::LoadFrom(ckpt.Renamed(layout.language), c.text, precision, threads);
  // The language model found out what this CPU runs; the towers follow it.
  const Precision p = m->language_->precision();
  // Only the layers up to the feature layer run: the rest (and post_layernorm) would
  // compute what LLaVA never reads.
  m->vision_ = ClipVisionTower::Load(ckpt, layout.vision, c.vision, c.vision_feature_layer,
                                     /*with_post_layernorm=*/false, p, p);
  const int64_t dv = c.vision.hidden_size, dt = c.text.hidden_size;
  m->projector_1_ = layers::Linear::Load(ckpt, layout.projector + ".linear_1", dv, dt, c.projector_bias, p);
  m->projector_2_ = layers::Linear::Load(ckpt, layout.projector + ".linear_2", dt, dt, c.projector_bias, p);
  return m;
}

void LlavaModel::EncodeImages(const float* pixels, int64_t n, float* features, Workspace& ws) const {
  if (n <= 0) return;
  const int64_t seq = vision_.sequence_length(), dv = config_.vision.hidden_size;
  const int64_t per_image = config_.image_seq_length;
  const int64_t skip = seq - per_image;  // 1 drops the class token ("default"), 0 keeps it ("full")
  const float* hidden = vision_.Forward(pixels, n, ws);
  const float* rows = hidden;
  if (skip != 0) {
    float* selected = ws.Buffer(kSelected, n * per_image * dv);
    for (int64_t b = 0; b < n; ++b) {
      std::memcpy(selected + b * per_image * dv, hidden + (b * seq + skip) * dv, per_image * dv * sizeof(float));
    }
    rows = selected;
  }
  float* projected = ws.Buffer(kProjected, n * per_image * config_.text.hidden_size);
  projector_1_.Forward(rows, n * per_image, projected, {ops::Activation::kGelu});
  projector_2_.Forward(projected, n * per_image, features);
}

}  // namespace mms::models
