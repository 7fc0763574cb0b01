// The config.json of a LLaMA-family decoder, as transformers defines LlamaConfig,
// MistralConfig and Qwen2Config: the three share one forward pass and differ in which
// projections carry biases and in sliding-window attention (not supported: refused
// unless the window covers the whole context).
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "layers/rotary_embedding.h"

namespace mms::models {

// The largest configuration FromFile accepts: beyond every published model of these
// families (LLaMA-3.1-405B: hidden 16384, 126 layers, 128 heads, intermediate 53248,
// vocab 128256; Qwen2.5-1M: 1010000 positions), and small enough that every size derived
// from them stays far from 64-bit overflow.
struct LlamaConfigLimits {
  static constexpr int64_t kMaxHiddenSize = 65536;
  static constexpr int64_t kMaxIntermediateSize = 262144;
  static constexpr int64_t kMaxLayers = 1024;
  static constexpr int64_t kMaxHeads = 1024;
  static constexpr int64_t kMaxHeadDim = 1024;
  static constexpr int64_t kMaxVocabSize = 4194304;  // 2^22
  static constexpr int64_t kMaxPositions = 4194304;  // 2^22
};

enum class LlamaVariant { kLlama, kMistral, kQwen2 };
const char* LlamaVariantName(LlamaVariant variant);

struct LlamaConfig {
  LlamaVariant variant = LlamaVariant::kLlama;
  int64_t hidden_size = 4096;
  int64_t intermediate_size = 11008;
  int64_t num_layers = 32;
  int64_t num_heads = 32;
  int64_t num_kv_heads = 32;
  int64_t head_dim = 128;
  int64_t vocab_size = 32000;
  int64_t max_position_embeddings = 2048;
  float rms_norm_eps = 1e-6f;
  double rope_theta = 10000.0;
  layers::RopeScaling rope_scaling;
  bool tie_word_embeddings = false;
  bool qkv_bias = false;  // LLaMA attention_bias; always for Qwen2
  bool o_bias = false;    // LLaMA attention_bias only
  bool mlp_bias = false;  // LLaMA mlp_bias

  // Reads and checks config.json; every refusal is Error(kInvalidModel) naming the file
  // and the field.
  static LlamaConfig FromFile(const std::string& path);
  // The same from a parsed object; `where` names it in errors. A composite model's text
  // part (LLaVA's text_config) may leave the family unnamed: then `unnamed_is_llama`
  // makes it LLaMA, as transformers does.
  static LlamaConfig FromJson(const nlohmann::json& j, const std::string& where, bool unnamed_is_llama);
};

}  // namespace mms::models
