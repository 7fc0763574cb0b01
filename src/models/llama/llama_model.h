// A LLaMA-family decoder (LlamaForCausalLM, MistralForCausalLM without a sliding window,
// Qwen2ForCausalLM) loaded from a Hugging Face checkpoint folder, running the steps of
// the generation scheduler over the paged KV cache (models/generative_model.h).
//
// Immutable after Load: one model serves every sequence; each step brings its cache and
// Workspace. The Linear layers (q/k/v, o, gate/up, down, lm_head) run in the model's
// precision; the embedding, the norms, rotary embeddings, attention and the KV cache
// stay float32.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/precision.h"
#include "layers/linear.h"
#include "layers/rms_norm.h"
#include "layers/rotary_embedding.h"
#include "models/generative_model.h"
#include "models/llama/llama_config.h"

namespace mms::models {

class LlamaModel : public GenerativeModel {
 public:
  // Reads config.json and the safetensors weights (f32/f16/bf16, sharded, or int8 from
  // `mmserve quantize`). `precision` falls back to fp32 where this CPU has no fast kernel
  // for it (precision_note says so). threads: the OpenMP threads of the model's own
  // kernels (attention, norms); 0 = OpenMP's default.
  static std::unique_ptr<LlamaModel> Load(const std::string& dir, Precision precision = Precision::kFp32,
                                          int threads = 0);
  // The same from an open checkpoint whose tensors carry the names LlamaForCausalLM uses
  // ("model.*", "lm_head.*"): a composite model passes its renamed language-model part.
  static std::unique_ptr<LlamaModel> LoadFrom(const io::Checkpoint& ckpt, const LlamaConfig& config,
                                              Precision precision, int threads);
  // The weight matrices an int8 model runs in int8: what `mmserve quantize` may store as I8.
  // A tied lm_head is the embedding, which stays float32, so it is not among them.
  static std::vector<std::string> Int8WeightNames(const LlamaConfig& config);

  const LlamaConfig& config() const { return config_; }
  Precision precision() const { return precision_; }
  const std::string& precision_note() const { return precision_note_; }
  const layers::RotaryEmbedding& rotary() const { return rope_; }

  layers::KvCacheShape kv_cache_shape(int block_tokens) const override;
  int vocab_size() const override { return static_cast<int>(config_.vocab_size); }
  int context_length() const override { return static_cast<int>(config_.max_position_embeddings); }
  int hidden_size() const override { return static_cast<int>(config_.hidden_size); }

  // Chunks, tokens, positions, block tables and injected embeddings are checked first:
  // a bad one is Error(kInvalidArgument) naming the chunk, and nothing is written.
  void Step(std::span<const SequenceChunk> chunks, layers::PagedKvCache& cache, Workspace& workspace,
            std::vector<float>& logits) const override;

 private:
  struct DecoderLayer {
    layers::RmsNorm input_norm, post_attention_norm;
    layers::Linear qkv;      // [hidden] -> [q | k | v]
    layers::Linear o_proj;   // [heads * head_dim] -> [hidden]
    layers::Linear gate_up;  // [hidden] -> [gate | up]
    layers::Linear down;     // [intermediate] -> [hidden]
  };

  LlamaModel() = default;
  void CheckStep(std::span<const SequenceChunk> chunks, const layers::PagedKvCache& cache) const;

  LlamaConfig config_;
  Precision precision_ = Precision::kFp32;
  std::string precision_note_;
  int threads_ = 0;
  Tensor embed_tokens_;  // [vocab, hidden] F32
  std::vector<DecoderLayer> layers_;
  layers::RmsNorm final_norm_;
  layers::Linear lm_head_;
  layers::RotaryEmbedding rope_;
};

}  // namespace mms::models
