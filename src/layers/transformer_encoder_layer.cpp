#include "layers/transformer_encoder_layer.h"

#include <cstdlib>

#include "base/error.h"
#include "engine/op_profile.h"
#include "engine/ops/attention.h"
#include "engine/ops/int8_matmul.h"

namespace mms::layers {

namespace {
enum Slot : size_t { kNormed, kQkv, kAttention, kMlp };
}

TransformerEncoderLayer TransformerEncoderLayer::LoadHF(const io::Checkpoint& ckpt, const std::string& prefix,
                                                        const EncoderLayerConfig& c, Precision precision) {
  if (c.num_heads <= 0 || c.hidden_size % c.num_heads != 0) {
    ThrowInvalidModel(prefix + ": hidden_size " + std::to_string(c.hidden_size) + " is not divisible by " +
                      std::to_string(c.num_heads) + " attention heads");
  }
  TransformerEncoderLayer l;
  l.config_ = c;
  const size_t at = prefix.rfind(".layers.");
  l.profile_scope_ = at == std::string::npos ? prefix : prefix.substr(0, at);
  l.profile_layer_ = at == std::string::npos ? -1 : std::atoi(prefix.c_str() + at + 8);
  const int64_t d = c.hidden_size;
  l.ln1_ = LayerNorm::Load(ckpt, prefix + ".layer_norm1", d, c.layer_norm_eps);
  l.ln2_ = LayerNorm::Load(ckpt, prefix + ".layer_norm2", d, c.layer_norm_eps);
  const std::string attn = prefix + ".self_attn.";
  l.qkv_ = Linear::LoadConcatenated(ckpt, {attn + "q_proj", attn + "k_proj", attn + "v_proj"}, d, d, true, precision);
  l.out_proj_ = Linear::Load(ckpt, attn + "out_proj", d, d, true, precision);
  l.fc1_ = Linear::Load(ckpt, prefix + ".mlp.fc1", d, c.intermediate_size, true, precision);
  l.fc2_ = Linear::Load(ckpt, prefix + ".mlp.fc2", c.intermediate_size, d, true, precision);
  l.bf16_activations_ = l.qkv_.precision() == Precision::kBf16 && l.fc1_.precision() == Precision::kBf16 &&
                        l.fc2_.precision() == Precision::kBf16;
  l.u8_normed_ = l.qkv_.precision() == Precision::kInt8 && l.fc1_.precision() == Precision::kInt8;
  return l;
}

std::vector<std::string> TransformerEncoderLayer::WeightNamesHF(const std::string& prefix) {
  std::vector<std::string> names;
  for (const char* p : {".self_attn.q_proj", ".self_attn.k_proj", ".self_attn.v_proj", ".self_attn.out_proj", ".mlp.fc1",
                        ".mlp.fc2"}) {
    names.push_back(prefix + p + ".weight");
  }
  return names;
}

void TransformerEncoderLayer::Forward(float* hidden, int64_t batch, int64_t seq, bool causal, Workspace& ws) const {
  const int64_t rows = batch * seq;
  const int64_t d = config_.hidden_size, ffn = config_.intermediate_size;
  // With bf16 products, the inputs of qkv, fc1 and fc2 stay in bf16 from the op that makes
  // them (the layer norms, fc1's epilogue): no float32 copy written and converted again per
  // product. They are rounded exactly where the float32 path rounds them, so the results are
  // the same. A bf16 buffer takes half as many of the workspace's floats.
  // With int8 products, the layer norms quantize what they compute (ops::LayerNormToU8): the
  // same codes as quantizing their float32 output, which is never written.
  const bool b16 = bf16_activations_, u8 = u8_normed_;
  float* normed = ws.Buffer(kNormed, b16 ? (rows * d + 1) / 2 : u8 ? (rows * d + 3) / 4 : rows * d);
  float* mlp = ws.Buffer(kMlp, b16 ? (rows * ffn + 1) / 2 : rows * ffn);
  auto* normed16 = reinterpret_cast<uint16_t*>(normed);
  auto* normed8 = reinterpret_cast<uint8_t*>(normed);
  ops::U8Params normed8_params;
  const int32_t max_code = u8 ? ops::Int8ActivationMaxCode() : 0;
  auto* mlp16 = reinterpret_cast<uint16_t*>(mlp);
  float* qkv = ws.Buffer(kQkv, rows * 3 * d);
  float* attention = ws.Buffer(kAttention, rows * d);
  const ops::Epilogue residual{ops::Activation::kNone, /*accumulate=*/true};
  const ops::Epilogue activation{config_.activation, false};
  auto norm = [&](const LayerNorm& ln) {
    if (b16) {
      ln.ForwardToBf16(hidden, rows, normed16);
    } else if (u8) {
      normed8_params = ln.ForwardToU8(hidden, rows, normed8, max_code);
    } else {
      ln.Forward(hidden, rows, normed);
    }
  };
  profile::Timer timer(profile_scope_.c_str(), profile_layer_);

  norm(ln1_);
  timer.Lap("layer_norm");
  if (b16) {
    qkv_.Forward(normed16, rows, qkv);
  } else if (u8) {
    qkv_.Forward(normed8, normed8_params, rows, qkv);
  } else {
    qkv_.Forward(normed, rows, qkv);
  }
  timer.Lap("qkv");
  // With bf16 or int8 products, attention's two products take bf16 inputs too (ops/attention.h).
  const auto products =
      qkv_.precision() == Precision::kFp32 ? ops::AttentionProducts::kFloat32 : ops::AttentionProducts::kBf16;
  ops::Attention(qkv, attention, {batch, seq, config_.num_heads, d / config_.num_heads}, causal, products);
  timer.Lap("attention");
  out_proj_.Forward(attention, rows, hidden, residual);
  timer.Lap("out_proj");

  norm(ln2_);
  timer.Lap("layer_norm");
  if (b16) {
    fc1_.ForwardToBf16(normed16, rows, mlp16, activation);
  } else if (u8) {
    fc1_.Forward(normed8, normed8_params, rows, mlp, activation);
  } else {
    fc1_.Forward(normed, rows, mlp, activation);
  }
  timer.Lap("fc1_act");
  if (b16) {
    fc2_.Forward(mlp16, rows, hidden, residual);
  } else {
    fc2_.Forward(mlp, rows, hidden, residual);
  }
  timer.Lap("fc2");
}

}  // namespace mms::layers
