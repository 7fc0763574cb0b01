// What a generative model that listens (Whisper) offers the server beyond GenerativeModel:
// the shape of its audio windows, the encoder that turns a batch of log-mel windows into
// audio features, and the per-sequence decoder state built from one window's features
// (its cross-attention keys and values), which every decoding of that window carries as
// SequenceChunk::sequence_state.
#pragma once

#include <atomic>
#include <cmath>
#include <cstdint>
#include <memory>

#include "layers/workspace.h"

namespace mms::models {

// One window's decoder state. The model measures the no-speech probability (the softmax
// at the no-speech token of the logits at the <|startoftranscript|> position, on the
// first forward pass) when sot_index and no_speech_token are set before the sequence runs.
struct SpeechDecoderState {
  virtual ~SpeechDecoderState() = default;
  int32_t sot_index = -1;
  int32_t no_speech_token = -1;
  mutable std::atomic<float> no_speech_prob{NAN};
};

class SpeechEncoder {
 public:
  virtual ~SpeechEncoder() = default;
  virtual int n_mels() const = 0;
  // Mel frames of one window (3000 = 30 s) and the feature rows it encodes to (1500).
  virtual int window_frames() const = 0;
  virtual int64_t audio_positions() const = 0;
  virtual int64_t feature_size() const = 0;
  // mel: [n, n_mels, window_frames]; features: [n, audio_positions, feature_size].
  virtual void EncodeWindows(const float* mel, int64_t n, float* features, Workspace& ws) const = 0;
  // One window's features -> the state its decodings carry.
  virtual std::shared_ptr<SpeechDecoderState> DecoderState(const float* features) const = 0;
};

}  // namespace mms::models
