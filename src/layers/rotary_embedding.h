// Rotary position embeddings as Hugging Face's LLaMA applies them: the rotate_half
// convention on un-permuted q/k weights (dimension i of a head pairs with i + head_dim/2),
// with the inverse frequencies of rope_scaling none ("default"), "linear" or "llama3"
// (transformers' _compute_default_rope_parameters / _compute_linear_scaling_rope_parameters
// / _compute_llama3_parameters).
#pragma once

#include <cstdint>
#include <vector>

namespace mms::layers {

struct RopeScaling {
  enum class Kind { kNone, kLinear, kLlama3 };
  Kind kind = Kind::kNone;
  double factor = 1.0;
  // llama3 only.
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  double original_max_position_embeddings = 8192;
};

class RotaryEmbedding {
 public:
  RotaryEmbedding() = default;
  // head_dim must be even and positive (the config checks it).
  RotaryEmbedding(int head_dim, double theta, const RopeScaling& scaling);

  int head_dim() const { return head_dim_; }
  const std::vector<double>& inv_freq() const { return inv_freq_; }

  // cos and sin of position · inv_freq, head_dim / 2 floats each. The angle is formed in
  // double so that far positions keep their precision (float32 would lose ~1e-4 rad at 2048).
  void CosSin(int64_t position, float* cos, float* sin) const;

  // Rotates `heads` consecutive heads of head_dim floats in place with the cos/sin of one
  // position: x1' = x1·cos − x2·sin, x2' = x2·cos + x1·sin (x1, x2 the two halves).
  void Apply(float* x, int64_t heads, const float* cos, const float* sin) const;

 private:
  int head_dim_ = 0;
  std::vector<double> inv_freq_;
};

}  // namespace mms::layers
