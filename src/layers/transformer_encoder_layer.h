#pragma once

#include <string>
#include <vector>

#include "engine/ops/activation.h"
#include "layers/layer_norm.h"
#include "layers/linear.h"
#include "layers/workspace.h"

namespace mms::layers {

struct EncoderLayerConfig {
  int64_t hidden_size;
  int64_t intermediate_size;
  int64_t num_heads;
  ops::Activation activation;
  float layer_norm_eps;
};

// A pre-LayerNorm transformer block as in CLIP's towers (and Whisper's encoder):
//   h += out_proj(attention(qkv(ln1(h))));  h += fc2(act(fc1(ln2(h))))
// The residual adds are fused into the projections that precede them.
class TransformerEncoderLayer {
 public:
  // Hugging Face names: <prefix>.layer_norm1, .self_attn.{q,k,v,out}_proj, .layer_norm2, .mlp.fc1, .mlp.fc2
  // The four projections run in `precision`; layer norms, softmax and residuals in fp32;
  // attention's products in bf16 where the projections are not fp32 (ops/attention.h).
  static TransformerEncoderLayer LoadHF(const io::Checkpoint& ckpt, const std::string& prefix,
                                        const EncoderLayerConfig& config, Precision precision = Precision::kFp32);
  // Names of the weight matrices LoadHF reads ("<prefix>.self_attn.q_proj.weight", ...).
  static std::vector<std::string> WeightNamesHF(const std::string& prefix);

  // hidden: [batch * seq, hidden_size], updated in place.
  void Forward(float* hidden, int64_t batch, int64_t seq, bool causal, Workspace& ws) const;

 private:
  EncoderLayerConfig config_{};
  // The profile's names for this layer: its stack ("vision_model.encoder") and index.
  std::string profile_scope_;
  int profile_layer_ = -1;
  bool bf16_activations_ = false;  // qkv, fc1 and fc2 in bf16: their inputs are kept in bf16
  bool u8_normed_ = false;         // qkv and fc1 in int8: the layer norms write their quantized input
  LayerNorm ln1_, ln2_;
  Linear qkv_, out_proj_, fc1_, fc2_;
};

}  // namespace mms::layers
