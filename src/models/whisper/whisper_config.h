// config.json of a WhisperForConditionalGeneration checkpoint, checked: every size in
// range, errors naming the file and the field.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace mms::models {

struct WhisperConfig {
  int64_t d_model = 0;
  int64_t encoder_layers = 0, decoder_layers = 0;
  int64_t encoder_attention_heads = 0, decoder_attention_heads = 0;
  int64_t encoder_ffn_dim = 0, decoder_ffn_dim = 0;
  int64_t num_mel_bins = 80;            // 80, or 128 (large-v3, turbo)
  int64_t max_source_positions = 1500;  // encoder output rows of a 30 s window
  int64_t max_target_positions = 448;   // decoder context
  int64_t vocab_size = 51865;           // 51865, or 51866 (large-v3); English-only 51864
  bool scale_embedding = false;
  bool tie_word_embeddings = true;
  float layer_norm_eps = 1e-5f;

  // `where` names the file in error messages.
  static WhisperConfig FromJson(const nlohmann::json& json, const std::string& where);
  static WhisperConfig Load(const std::string& checkpoint_dir);
};

}  // namespace mms::models
