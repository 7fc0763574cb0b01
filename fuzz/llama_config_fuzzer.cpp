// config.json of a LLaMA-family decoder (LlamaConfig::FromFile): any bytes must be
// refused with a clean kInvalidModel, and whatever is accepted must be sizes the model
// code can divide by and allocate from.
#include "fuzz_support.h"
#include "models/llama/llama_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static mms::fuzz::MemoryFile file;
  const std::string& path = file.Write(mms::fuzz::AsText(data, size));
  mms::fuzz::ExpectCleanRefusal("LlamaConfig::FromFile", [&] {
    using L = mms::models::LlamaConfigLimits;
    const auto c = mms::models::LlamaConfig::FromFile(path);
    if (c.num_heads <= 0 || c.num_kv_heads <= 0 || c.num_heads % c.num_kv_heads != 0) {
      mms::fuzz::Finding("LlamaConfig::FromFile", "accepted heads that grouped-query attention cannot split");
    }
    if (c.head_dim <= 0 || c.head_dim % 2 != 0 || c.head_dim > L::kMaxHeadDim) {
      mms::fuzz::Finding("LlamaConfig::FromFile", "accepted a head_dim rotary embeddings cannot use");
    }
    if (c.hidden_size <= 0 || c.hidden_size > L::kMaxHiddenSize || c.vocab_size <= 0 ||
        c.vocab_size > L::kMaxVocabSize || c.intermediate_size <= 0 || c.num_layers <= 0 ||
        c.max_position_embeddings <= 0) {
      mms::fuzz::Finding("LlamaConfig::FromFile", "accepted a size outside its limits");
    }
    if (!(c.rms_norm_eps > 0) || !(c.rope_theta > 0) || !(c.rope_scaling.factor >= 1.0) ||
        !(c.rope_scaling.low_freq_factor < c.rope_scaling.high_freq_factor)) {
      mms::fuzz::Finding("LlamaConfig::FromFile", "accepted numbers that make NaN or divide by zero");
    }
  });
  return 0;
}
