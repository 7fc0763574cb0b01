// WhisperForConditionalGeneration as Hugging Face defines it, matching OpenAI's own Whisper:
// an audio encoder (two GELU convolutions, fixed sinusoidal positions read from the
// checkpoint, pre-LayerNorm self-attention layers, a final LayerNorm) and a text decoder
// (learned positions, causal self-attention over the paged KV cache, cross-attention over
// one 30 s window's encoder output, GELU MLP, final LayerNorm, output projection tied to
// the token embedding when the checkpoint has no proj_out).
//
// The encoder runs on batches of mel windows (the speech runtime batches the windows of
// concurrent requests). The decoder is a GenerativeModel: each decoding of a window is
// one sequence of the generation scheduler, and its cross-attention keys and values,
// computed once from the window's encoder output, travel with the sequence as its
// SequenceChunk::sequence_state (a WhisperCrossState). Immutable after Load.
#pragma once

#include <atomic>
#include <cmath>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/precision.h"
#include "engine/tensor.h"
#include "layers/layer_norm.h"
#include "layers/linear.h"
#include "models/generative_model.h"
#include "models/speech_encoder.h"
#include "models/whisper/whisper_config.h"

namespace mms::models {

// The per-sequence state of one decoding of one audio window (the no-speech fields are
// SpeechDecoderState's: the Step that computes position sot_index also computes that
// row's logits and stores the no-speech probability).
struct WhisperCrossState final : SpeechDecoderState {
  int64_t audio_positions = 0;  // encoder output rows (1500 for a 30 s window)
  // Per decoder layer, one of two forms (layers/cross_attention.h's layout): float32 for
  // fp32 models; bfloat16 for bf16 and int8 models, half the bytes each decoder step reads.
  //   keys:   [heads, head_dim, audio_positions] (each head's keys transposed)
  //   values: [audio_positions, d_model], heads side by side
  std::vector<std::vector<float>> keys, values;
  std::vector<std::vector<uint16_t>> keys_bf16, values_bf16;
  size_t layers() const { return keys_bf16.empty() ? keys.size() : keys_bf16.size(); }
};

class WhisperModel final : public GenerativeModel, public SpeechEncoder {
 public:
  // Reads config.json and model.safetensors (f32/f16/bf16; int8 from `mmserve quantize`).
  // The Linear layers run in `precision` (fp32 where this CPU has no kernel for it:
  // precision_note says so); convolutions' matrix products too; layer norms, attention,
  // softmax stay float32. threads: OpenMP threads of the model's own kernels; 0 = default.
  static std::unique_ptr<WhisperModel> Load(const std::string& dir, Precision precision = Precision::kFp32,
                                            int threads = 0);
  // The weight matrices an int8 model runs in int8 (what `mmserve quantize` may store as I8).
  static std::vector<std::string> Int8WeightNames(const WhisperConfig& config);

  const WhisperConfig& config() const { return config_; }
  // Mel frames of one window (2 * max_source_positions = 3000) and encoder output rows
  // (1500): SpeechEncoder's window_frames() and audio_positions() below.

  // mel: `batch` windows, each [n_mels, window_frames] row-major floats.
  // out: [batch, audio_positions, d_model] (the encoder's final LayerNorm applied).
  void Encode(const float* mel, int64_t batch, float* out, Workspace& ws) const;
  // One window's encoder output [audio_positions, d_model] -> its cross-attention state.
  std::shared_ptr<WhisperCrossState> CrossAttentionState(const float* encoder_output) const;

  // GenerativeModel: the decoder. Every chunk's sequence_state must be a WhisperCrossState
  // from CrossAttentionState (Error(kInvalidArgument) otherwise, naming the chunk).
  layers::KvCacheShape kv_cache_shape(int block_tokens) const override;
  int vocab_size() const override { return static_cast<int>(config_.vocab_size); }
  int context_length() const override { return static_cast<int>(config_.max_target_positions); }
  int hidden_size() const override { return static_cast<int>(config_.d_model); }
  Precision precision() const override { return precision_; }
  const std::string& precision_note() const override { return precision_note_; }
  void Step(std::span<const SequenceChunk> chunks, layers::PagedKvCache& cache, Workspace& workspace,
            std::vector<float>& logits) const override;
  const SpeechEncoder* speech_encoder() const override { return this; }

  // SpeechEncoder: the encoder and the cross-attention state, for the speech runtime.
  int n_mels() const override { return static_cast<int>(config_.num_mel_bins); }
  int window_frames() const override { return static_cast<int>(2 * config_.max_source_positions); }
  int64_t audio_positions() const override { return config_.max_source_positions; }
  int64_t feature_size() const override { return config_.d_model; }
  void EncodeWindows(const float* mel, int64_t n, float* features, Workspace& ws) const override {
    Encode(mel, n, features, ws);
  }
  std::shared_ptr<SpeechDecoderState> DecoderState(const float* features) const override {
    return CrossAttentionState(features);
  }

 private:
  struct EncoderLayer {
    layers::LayerNorm self_attn_norm, final_norm;
    layers::Linear qkv;       // [d] -> [q | k | v]; k has no bias (zeros stand in for it)
    layers::Linear out_proj;  // [d] -> [d]
    layers::Linear fc1, fc2;
  };
  struct DecoderLayer {
    layers::LayerNorm self_attn_norm, cross_attn_norm, final_norm;
    layers::Linear qkv;             // self-attention [d] -> [q | k | v]
    layers::Linear self_out;        // [d] -> [d]
    layers::Linear cross_q;         // [d] -> [d]
    layers::Linear cross_kv;        // encoder output [d] -> [k | v] (CrossAttentionState)
    layers::Linear cross_out;       // [d] -> [d]
    layers::Linear fc1, fc2;
  };

  WhisperModel() = default;
  void CheckStep(std::span<const SequenceChunk> chunks, const layers::PagedKvCache& cache,
                 std::vector<const WhisperCrossState*>& states) const;

  WhisperConfig config_;
  Precision precision_ = Precision::kFp32;
  std::string precision_note_;
  int threads_ = 0;

  // Encoder: convolutions as matrix products over im2col rows ([in_channels * 3] each,
  // channel-major as PyTorch's [out, in, 3] kernel flattens), sinusoidal positions.
  layers::Linear conv1_, conv2_;
  Tensor encoder_positions_;  // [max_source_positions, d] F32
  std::vector<EncoderLayer> encoder_layers_;
  layers::LayerNorm encoder_norm_;
  // Decoder.
  Tensor embed_tokens_;       // [vocab, d] F32
  Tensor decoder_positions_;  // [max_target_positions, d] F32
  std::vector<DecoderLayer> decoder_layers_;
  layers::LayerNorm decoder_norm_;
  layers::Linear lm_head_;    // tied: embed_tokens_; else proj_out
};

}  // namespace mms::models
