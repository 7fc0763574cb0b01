// Long-form transcription as OpenAI's `transcribe()` does it, over a model reached
// through SpeechBackend (the server's: windows batched across requests, decodings run as
// sequences of the generation scheduler; tests': whatever they like):
//   - the log-mel of the whole file plus 30 s of zeros, then 30 s windows from `seek`;
//   - the language detected on the first window when none is given;
//   - each window decoded after the previous text (<|startofprev|>, last 223 tokens) and
//     the task's special tokens, with Whisper's logit filters, greedy or sampled;
//   - temperature fallback: decoded again at the next temperature while the text is too
//     repetitive (gzip compression ratio over 2.4) or too unlikely (average log-probability
//     under -1), unless the window is silence (no-speech probability over 0.6 with a low
//     log-probability), which is skipped;
//   - the window's timestamp tokens cut it into segments and say where the next window
//     starts (after the last complete segment), so speech cut at a window's edge is
//     decoded whole in the next one;
//   - the previous text is forgotten after a window decoded at a temperature over 0.5, or
//     always when condition_on_previous_text is off.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "generation/sampling.h"
#include "models/speech_encoder.h"
#include "speech/whisper_vocabulary.h"

namespace mms::text {
class HfTokenizer;
}
namespace mms::media {
class LogMelSpectrogram;
}

namespace mms::speech {

struct TranscriptionOptions {
  bool translate = false;               // task: translate into English instead of transcribing
  std::string language;                 // a code or name; empty = detect from the first window
  std::string initial_prompt;           // previous text for the first window (OpenAI's `prompt`)
  // Temperatures tried in turn: `temperature`, then + increment up to 1.0. An increment of
  // 0 tries only the first (no fallback).
  float temperature = 0.0f;
  float temperature_increment = 0.2f;
  std::optional<float> compression_ratio_threshold = 2.4f;
  std::optional<float> logprob_threshold = -1.0f;
  std::optional<float> no_speech_threshold = 0.6f;
  bool condition_on_previous_text = true;
  bool without_timestamps = false;
  int max_tokens_per_window = 224;      // OpenAI's sample_len: half the decoder's context
  bool ignore_eot = false;              // benchmarks: always decode max_tokens_per_window
  std::optional<uint64_t> seed;         // sampling at temperature > 0
};

struct TranscriptSegment {
  int id = 0;
  int64_t seek = 0;            // mel frame of the window the segment came from
  double start = 0, end = 0;   // seconds
  std::string text;
  std::vector<int32_t> tokens;
  float temperature = 0;
  double avg_logprob = 0;
  double compression_ratio = 0;
  double no_speech_prob = 0;
};

struct TranscriptStats {
  int windows = 0;               // windows decoded (fallback attempts counted once)
  int decode_attempts = 0;       // decodings, fallbacks and language detection included
  int fallbacks = 0;             // windows decoded again at a higher temperature
  int64_t tokens_decoded = 0;    // sampled tokens, all attempts
  double mel_seconds = 0, encode_seconds = 0, decode_seconds = 0;
};

struct Transcript {
  std::string text;
  std::string language;  // the language's name ("english")
  std::string language_code;
  double duration = 0;   // seconds of audio
  std::vector<TranscriptSegment> segments;
  TranscriptStats stats;
};

// The model as the transcriber uses it.
class SpeechBackend {
 public:
  virtual ~SpeechBackend() = default;
  // One [n_mels, 3000] window -> its decoder state. May wait for a batch.
  virtual std::shared_ptr<models::SpeechDecoderState> EncodeWindow(std::vector<float> mel) = 0;

  struct DecodeRequest {
    std::shared_ptr<models::SpeechDecoderState> state;
    std::vector<int32_t> prompt;
    std::unique_ptr<generation::TokenConstraint> filter;
    float temperature = 0;
    std::optional<uint64_t> seed;
    int max_tokens = 1;
    int32_t eot = -1;
    bool ignore_eot = false;
    uint64_t prefix_salt = 0;  // the window's: cached prompt blocks are reused only for the same audio
  };
  struct DecodeOutput {
    std::vector<int32_t> tokens;   // sampled, end-of-text included when it came
    std::vector<float> logprobs;   // of each, after the filters, before the temperature
  };
  virtual DecodeOutput Decode(DecodeRequest request) = 0;
};

// Called after each window with the segments it added (streaming).
using SegmentCallback = std::function<void(std::span<const TranscriptSegment>)>;

struct SpeechContext {
  std::shared_ptr<const WhisperVocabulary> vocabulary;
  const text::HfTokenizer* tokenizer = nullptr;
  const media::LogMelSpectrogram* mel = nullptr;
  int text_context = 448;  // decoder positions
};

// Throws Error(kInvalidArgument) for a language the checkpoint does not know, translate
// on an English-only checkpoint, options out of range; errors of the backend pass through.
Transcript Transcribe(std::span<const float> samples, const TranscriptionOptions& options,
                      const SpeechContext& context, SpeechBackend& backend, const SegmentCallback& on_segments = {});

// One window decoded once, as OpenAI's decode() does: the language detected on this
// window when none is given, one temperature (options.temperature), no fallback, no
// previous text but options.initial_prompt.
struct WindowDecoding {
  std::vector<int32_t> tokens;  // sampled, end-of-text excluded
  std::string text;             // without timestamps, trimmed
  std::string language_code;
  double avg_logprob = 0, no_speech_prob = 0, compression_ratio = 0;
  float temperature = 0;
};
WindowDecoding DecodeWindow(std::vector<float> mel_window, const TranscriptionOptions& options,
                            const SpeechContext& context, SpeechBackend& backend);

// OpenAI's gzip compression ratio of a text: bytes / zlib-compressed bytes.
double CompressionRatio(const std::string& text);

}  // namespace mms::speech
