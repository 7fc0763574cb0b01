// config.json of a Whisper model (WhisperConfig::FromJson): any bytes must be refused with
// a clean kInvalidModel, and whatever is accepted must describe shapes the model code can
// run: heads dividing the width, 80 or 128 mel bins, positions and vocabulary in range.
#include <nlohmann/json.hpp>

#include "fuzz_support.h"
#include "models/whisper/whisper_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = mms::fuzz::AsText(data, size);
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) return 0;
  mms::fuzz::ExpectCleanRefusal("WhisperConfig::FromJson", [&] {
    const auto c = mms::models::WhisperConfig::FromJson(j, "config.json");
    if (c.d_model <= 0 || c.encoder_attention_heads <= 0 || c.decoder_attention_heads <= 0 ||
        c.d_model % c.encoder_attention_heads != 0 || c.d_model % c.decoder_attention_heads != 0) {
      mms::fuzz::Finding("WhisperConfig::FromJson", "accepted a width its heads do not divide");
    }
    if (c.num_mel_bins != 80 && c.num_mel_bins != 128) {
      mms::fuzz::Finding("WhisperConfig::FromJson", "accepted a mel bin count the log-mel cannot make");
    }
    if (c.max_source_positions <= 0 || c.max_target_positions <= 1 || c.vocab_size <= 0 || c.encoder_layers <= 0 ||
        c.decoder_layers <= 0 || c.encoder_ffn_dim <= 0 || c.decoder_ffn_dim <= 0) {
      mms::fuzz::Finding("WhisperConfig::FromJson", "accepted a size of zero or below");
    }
  });
  return 0;
}
