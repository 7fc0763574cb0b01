#include "models/whisper/whisper_config.h"

#include <cmath>
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "io/json_config.h"

namespace mms::models {

namespace {

// Bounds far above every released Whisper (large-v3: d_model 1280, 32 layers, 20 heads,
// ffn 5120, vocab 51866) and far below sizes whose buffers would overflow or be absurd.
constexpr int64_t kMaxDModel = 16384;
constexpr int64_t kMaxLayers = 256;
constexpr int64_t kMaxHeads = 256;
constexpr int64_t kMaxFfn = 65536;
constexpr int64_t kMaxMels = 512;
constexpr int64_t kMaxSourcePositions = 16384;
constexpr int64_t kMaxTargetPositions = 65536;
constexpr int64_t kMaxVocab = 1 << 20;

bool BoolField(const nlohmann::json& j, const std::string& key, bool fallback, const std::string& where) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_boolean()) ThrowInvalidModel(where + ": field \"" + key + "\" must be true or false");
  return j[key].get<bool>();
}

void CheckHeads(int64_t d_model, int64_t heads, const char* field, const std::string& where) {
  if (d_model % heads != 0) {
    ThrowInvalidModel(where + ": field \"d_model\" (" + std::to_string(d_model) + ") is not divisible by \"" + field +
                      "\" (" + std::to_string(heads) + ")");
  }
}

}  // namespace

WhisperConfig WhisperConfig::FromJson(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) ThrowInvalidModel(where + ": not a JSON object");
  const std::string model_type = io::StringField(j, "model_type", "whisper", where);
  if (model_type != "whisper") {
    ThrowInvalidModel(where + ": field \"model_type\" is \"" + model_type + "\", not \"whisper\"");
  }
  // Defaults are those of transformers' WhisperConfig.
  WhisperConfig c;
  c.d_model = io::IntFieldInRange(j, "d_model", 384, 1, kMaxDModel, where);
  c.encoder_layers = io::IntFieldInRange(j, "encoder_layers", 4, 1, kMaxLayers, where);
  c.decoder_layers = io::IntFieldInRange(j, "decoder_layers", 4, 1, kMaxLayers, where);
  c.encoder_attention_heads = io::IntFieldInRange(j, "encoder_attention_heads", 6, 1, kMaxHeads, where);
  c.decoder_attention_heads = io::IntFieldInRange(j, "decoder_attention_heads", 6, 1, kMaxHeads, where);
  CheckHeads(c.d_model, c.encoder_attention_heads, "encoder_attention_heads", where);
  CheckHeads(c.d_model, c.decoder_attention_heads, "decoder_attention_heads", where);
  c.encoder_ffn_dim = io::IntFieldInRange(j, "encoder_ffn_dim", 1536, 1, kMaxFfn, where);
  c.decoder_ffn_dim = io::IntFieldInRange(j, "decoder_ffn_dim", 1536, 1, kMaxFfn, where);
  c.num_mel_bins = io::IntFieldInRange(j, "num_mel_bins", 80, 1, kMaxMels, where);
  // The log-mel front end makes OpenAI's two filter banks only (found by the config fuzzer:
  // any other count loaded, then failed at the first request).
  if (c.num_mel_bins != 80 && c.num_mel_bins != 128) {
    ThrowInvalidModel(where + ": field \"num_mel_bins\" is " + std::to_string(c.num_mel_bins) +
                      "; Whisper checkpoints have 80 or 128");
  }
  c.max_source_positions = io::IntFieldInRange(j, "max_source_positions", 1500, 1, kMaxSourcePositions, where);
  c.max_target_positions = io::IntFieldInRange(j, "max_target_positions", 448, 1, kMaxTargetPositions, where);
  c.vocab_size = io::IntFieldInRange(j, "vocab_size", 51865, 1, kMaxVocab, where);
  c.scale_embedding = BoolField(j, "scale_embedding", false, where);
  c.tie_word_embeddings = BoolField(j, "tie_word_embeddings", true, where);
  // transformers' WhisperConfig has no layer_norm_eps; its modules use LayerNorm's 1e-5.
  const double eps = io::NumberField(j, "layer_norm_eps", 1e-5, where);
  if (!(std::isfinite(eps) && eps > 0.0 && eps <= 1.0)) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", eps);
    ThrowInvalidModel(where + ": field \"layer_norm_eps\" is " + buf + ", must be in (0, 1]");
  }
  c.layer_norm_eps = static_cast<float>(eps);

  // The encoder's GELU is the erf one ("gelu"); another activation would be silently wrong.
  const std::string act = io::StringField(j, "activation_function", "gelu", where);
  if (act != "gelu") {
    ThrowInvalidModel(where + ": field \"activation_function\" is \"" + act + "\"; only \"gelu\" is supported");
  }
  // A weighted layer sum only matters for audio classification heads, not for generation.
  return c;
}

WhisperConfig WhisperConfig::Load(const std::string& checkpoint_dir) {
  const std::string path = checkpoint_dir + "/config.json";
  return FromJson(io::LoadJsonFile(path), path);
}

}  // namespace mms::models
