#include "models/llama/llama_config.h"

#include <cmath>
#include <cstdio>
#include <string>

#include "base/error.h"
#include "io/json_config.h"

namespace mms::models {

namespace {

using L = LlamaConfigLimits;

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// Which member of the family the file describes: model_type first (what transformers'
// AutoConfig reads), then architectures.
LlamaVariant DetectVariant(const nlohmann::json& j, const std::string& path, bool unnamed_is_llama) {
  const std::string model_type = io::StringField(j, "model_type", "", path);
  if (model_type == "llama") return LlamaVariant::kLlama;
  if (model_type == "mistral") return LlamaVariant::kMistral;
  if (model_type == "qwen2") return LlamaVariant::kQwen2;
  if (!model_type.empty()) {
    ThrowInvalidModel(path + ": field \"model_type\" is \"" + model_type +
                      "\", not a LLaMA-family decoder (llama, mistral, qwen2)");
  }
  if (j.contains("architectures") && j["architectures"].is_array()) {
    for (const auto& a : j["architectures"]) {
      if (a == "LlamaForCausalLM") return LlamaVariant::kLlama;
      if (a == "MistralForCausalLM") return LlamaVariant::kMistral;
      if (a == "Qwen2ForCausalLM") return LlamaVariant::kQwen2;
    }
  }
  if (unnamed_is_llama) return LlamaVariant::kLlama;
  ThrowInvalidModel(path + ": neither \"model_type\" nor \"architectures\" names a LLaMA-family decoder "
                    "(LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM)");
}

bool BoolField(const nlohmann::json& j, const std::string& key, bool fallback, const std::string& path) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_boolean()) ThrowInvalidModel(path + ": field \"" + key + "\" must be true or false");
  return j[key].get<bool>();
}

// A finite number in (min, max] (or [min, max] with min_inclusive).
double NumberInRange(const nlohmann::json& j, const std::string& key, double fallback, double min, double max,
                     bool min_inclusive, const std::string& where) {
  if (std::isnan(fallback) && (!j.contains(key) || j[key].is_null())) {
    ThrowInvalidModel(where + ": field \"" + key + "\" is required");
  }
  const double v = io::NumberField(j, key, fallback, where);
  const bool above = min_inclusive ? v >= min : v > min;
  if (!(std::isfinite(v) && above && v <= max)) {
    ThrowInvalidModel(where + ": field \"" + key + "\" is " + Num(v) + ", must be in " + (min_inclusive ? "[" : "(") +
                      Num(min) + ", " + Num(max) + "]");
  }
  return v;
}

layers::RopeScaling ReadRopeScaling(const nlohmann::json& j, const std::string& path) {
  layers::RopeScaling s;
  if (!j.contains("rope_scaling") || j["rope_scaling"].is_null()) return s;
  const nlohmann::json& r = j["rope_scaling"];
  const std::string where = path + " rope_scaling";
  if (!r.is_object()) ThrowInvalidModel(path + ": field \"rope_scaling\" must be an object or null");
  // transformers accepts the older "type" key for "rope_type".
  std::string type = io::StringField(r, "rope_type", "", where);
  if (type.empty()) type = io::StringField(r, "type", "", where);
  if (type.empty() || type == "default") return s;
  if (type == "linear") {
    s.kind = layers::RopeScaling::Kind::kLinear;
    s.factor = NumberInRange(r, "factor", NAN, 1.0, 1e6, true, where);
    return s;
  }
  if (type == "llama3") {
    s.kind = layers::RopeScaling::Kind::kLlama3;
    s.factor = NumberInRange(r, "factor", NAN, 1.0, 1e6, true, where);
    s.low_freq_factor = NumberInRange(r, "low_freq_factor", NAN, 0.0, 1e6, false, where);
    s.high_freq_factor = NumberInRange(r, "high_freq_factor", NAN, 0.0, 1e6, false, where);
    s.original_max_position_embeddings = static_cast<double>(
        io::IntFieldInRange(r, "original_max_position_embeddings", -1, 1, L::kMaxPositions, where));
    if (!(s.low_freq_factor < s.high_freq_factor)) {
      ThrowInvalidModel(where + ": field \"low_freq_factor\" (" + Num(s.low_freq_factor) +
                        ") must be below \"high_freq_factor\" (" + Num(s.high_freq_factor) + ")");
    }
    return s;
  }
  ThrowInvalidModel(where + ": field \"rope_type\" is \"" + type + "\"; supported: default, linear, llama3");
}

}  // namespace

const char* LlamaVariantName(LlamaVariant variant) {
  switch (variant) {
    case LlamaVariant::kLlama: return "llama";
    case LlamaVariant::kMistral: return "mistral";
    case LlamaVariant::kQwen2: return "qwen2";
  }
  return "llama";
}

LlamaConfig LlamaConfig::FromFile(const std::string& path) {
  return FromJson(io::LoadJsonFile(path), path, /*unnamed_is_llama=*/false);
}

LlamaConfig LlamaConfig::FromJson(const nlohmann::json& j, const std::string& path, bool unnamed_is_llama) {
  if (!j.is_object()) ThrowInvalidModel(path + ": not a JSON object");
  LlamaConfig c;
  c.variant = DetectVariant(j, path, unnamed_is_llama);

  // Defaults are those of transformers' LlamaConfig / MistralConfig / Qwen2Config.
  struct Defaults {
    int64_t vocab, intermediate, kv_heads, positions;
  };
  const Defaults d = c.variant == LlamaVariant::kMistral ? Defaults{32000, 14336, 8, 4096 * 32}
                     : c.variant == LlamaVariant::kQwen2 ? Defaults{151936, 22016, 32, 32768}
                                                          : Defaults{32000, 11008, -1, 2048};
  c.hidden_size = io::IntFieldInRange(j, "hidden_size", 4096, 1, L::kMaxHiddenSize, path);
  c.intermediate_size = io::IntFieldInRange(j, "intermediate_size", d.intermediate, 1, L::kMaxIntermediateSize, path);
  c.num_layers = io::IntFieldInRange(j, "num_hidden_layers", 32, 1, L::kMaxLayers, path);
  c.num_heads = io::IntFieldInRange(j, "num_attention_heads", 32, 1, L::kMaxHeads, path);
  c.num_kv_heads = io::IntFieldInRange(j, "num_key_value_heads", d.kv_heads > 0 ? d.kv_heads : c.num_heads, 1,
                                       c.num_heads, path);
  if (c.num_heads % c.num_kv_heads != 0) {
    ThrowInvalidModel(path + ": field \"num_key_value_heads\" (" + std::to_string(c.num_kv_heads) +
                      ") must divide \"num_attention_heads\" (" + std::to_string(c.num_heads) + ")");
  }
  if (j.contains("head_dim") && !j["head_dim"].is_null()) {
    c.head_dim = io::IntFieldInRange(j, "head_dim", 0, 2, L::kMaxHeadDim, path);
  } else {
    if (c.hidden_size % c.num_heads != 0) {
      ThrowInvalidModel(path + ": field \"hidden_size\" (" + std::to_string(c.hidden_size) +
                        ") is not divisible by \"num_attention_heads\" (" + std::to_string(c.num_heads) +
                        ") and no \"head_dim\" is given");
    }
    c.head_dim = c.hidden_size / c.num_heads;
    if (c.head_dim > L::kMaxHeadDim) {
      ThrowInvalidModel(path + ": hidden_size / num_attention_heads is " + std::to_string(c.head_dim) +
                        ", over the supported head_dim " + std::to_string(L::kMaxHeadDim));
    }
  }
  if (c.head_dim % 2 != 0) {
    ThrowInvalidModel(path + ": field \"head_dim\" is " + std::to_string(c.head_dim) +
                      ", must be even for rotary embeddings");
  }
  c.vocab_size = io::IntFieldInRange(j, "vocab_size", d.vocab, 1, L::kMaxVocabSize, path);
  c.max_position_embeddings =
      io::IntFieldInRange(j, "max_position_embeddings", d.positions, 1, L::kMaxPositions, path);
  c.rms_norm_eps = static_cast<float>(NumberInRange(j, "rms_norm_eps", 1e-6, 0.0, 1.0, false, path));
  c.rope_theta = NumberInRange(j, "rope_theta", 10000.0, 1.0, 1e12, false, path);
  c.rope_scaling = ReadRopeScaling(j, path);
  // Only full rotary dimensions exist in these families; a partial one would be silently wrong.
  NumberInRange(j, "partial_rotary_factor", 1.0, 1.0, 1.0, true, path);

  const std::string act = io::StringField(j, "hidden_act", "silu", path);
  if (act != "silu") ThrowInvalidModel(path + ": field \"hidden_act\" is \"" + act + "\"; only \"silu\" is supported");
  // Llama's pretraining_tp > 1 only changes how training sliced the matrices, not the result.

  c.tie_word_embeddings = BoolField(j, "tie_word_embeddings", false, path);
  switch (c.variant) {
    case LlamaVariant::kLlama:
      c.qkv_bias = c.o_bias = BoolField(j, "attention_bias", false, path);
      c.mlp_bias = BoolField(j, "mlp_bias", false, path);
      break;
    case LlamaVariant::kMistral: break;
    case LlamaVariant::kQwen2: c.qkv_bias = true; break;
  }

  // Sliding-window attention is not implemented: a window shorter than the context would
  // change results past it, so such a model is refused rather than run wrong.
  const bool windowed = c.variant == LlamaVariant::kMistral ||
                        (c.variant == LlamaVariant::kQwen2 && BoolField(j, "use_sliding_window", false, path));
  if (windowed) {
    const bool has_field = j.contains("sliding_window");
    if (!has_field || !j["sliding_window"].is_null()) {
      const int64_t window = io::IntField(j, "sliding_window", 4096, path);
      if (window < c.max_position_embeddings) {
        ThrowInvalidModel(path + ": field \"sliding_window\" is " + std::to_string(window) +
                          ", shorter than max_position_embeddings " + std::to_string(c.max_position_embeddings) +
                          "; sliding-window attention is not supported");
      }
    }
  }
  return c;
}

}  // namespace mms::models
