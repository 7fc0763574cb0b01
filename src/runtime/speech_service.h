// A listening model's transcription service (Whisper): turns decoded audio into a
// transcript with speech::Transcribe over the serving machinery —
//   - audio windows of concurrent requests are encoded together by a dynamic batcher
//     (one batch, one encoder pass; each window's decoder state built in the same pass),
//   - each decoding of a window is a sequence of the model's generation scheduler, so the
//     decoders of every request share its continuously batched steps.
// It also keeps the counters behind the audio metrics.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "generation/generation_engine.h"
#include "media/log_mel.h"
#include "models/speech_encoder.h"
#include "runtime/dynamic_batcher.h"
#include "speech/transcriber.h"
#include "speech/whisper_vocabulary.h"

namespace mms::text {
class HfTokenizer;
}

namespace mms::runtime {

class LatencyHistogram;

struct SpeechStats {
  uint64_t requests = 0;
  double audio_seconds = 0;       // audio transcribed
  double processing_seconds = 0;  // wall time of those transcriptions (file decoding excluded)
  double file_decode_seconds = 0, mel_seconds = 0, encode_seconds = 0, decode_seconds = 0;
  uint64_t windows = 0, decode_attempts = 0, fallbacks = 0;
  BatcherStats encoder;           // the window batcher's counters
};

class SpeechService {
 public:
  using SubmitFn = std::function<uint64_t(generation::GenerationRequest, std::shared_ptr<generation::TokenSink>)>;
  using CancelFn = std::function<void(uint64_t)>;

  // `encoder` and `tokenizer` must outlive the service. submit/cancel reach the model's
  // generation scheduler (past its circuit breaker).
  SpeechService(std::string name, const models::SpeechEncoder& encoder, std::shared_ptr<const speech::WhisperVocabulary> vocabulary,
                const text::HfTokenizer& tokenizer, int text_context, BatcherConfig batcher,
                speech::TranscriptionOptions defaults, SubmitFn submit, CancelFn cancel);
  ~SpeechService();

  const speech::WhisperVocabulary& vocabulary() const { return *vocabulary_; }
  // The decoding a request starts from (config.pbtxt's parameters over OpenAI's defaults).
  const speech::TranscriptionOptions& defaults() const { return defaults_; }

  // Transcribes 16 kHz mono samples. `file_decode_seconds` (the upload's decoding, done by
  // the caller) only feeds the metrics. Errors as speech::Transcribe; kUnavailable when
  // shutting down or the queue is full.
  speech::Transcript Transcribe(std::span<const float> samples, const speech::TranscriptionOptions& options,
                                const speech::SegmentCallback& on_segments = {}, double file_decode_seconds = 0);

  // OpenAI's decode(): one [n_mels, 3000] window, once (speech::DecodeWindow).
  speech::WindowDecoding DecodeWindow(std::vector<float> mel_window, const speech::TranscriptionOptions& options);

  // A tiny transcription of silence for health probes (one window, a few tokens).
  void Probe(std::chrono::milliseconds deadline);

  SpeechStats Stats() const;
  void Shutdown(std::chrono::milliseconds deadline);

 private:
  class Backend;
  friend class Backend;
  using WindowBatcher = DynamicBatcher<std::vector<float>, std::shared_ptr<models::SpeechDecoderState>>;

  std::string name_;
  const models::SpeechEncoder& encoder_;
  std::shared_ptr<const speech::WhisperVocabulary> vocabulary_;
  const text::HfTokenizer& tokenizer_;
  int text_context_;
  speech::TranscriptionOptions defaults_;
  media::LogMelSpectrogram mel_;
  SubmitFn submit_;
  CancelFn cancel_;
  std::unique_ptr<WindowBatcher> batcher_;

  mutable std::mutex stats_mutex_;
  SpeechStats stats_;
};

}  // namespace mms::runtime
