// Whisper's log-mel spectrogram, as OpenAI's `log_mel_spectrogram` computes it: periodic
// Hann window of 400, hop 160, centred STFT with reflect padding, power |X|^2, the last
// frame dropped, Slaney-normalised mel filters (0-8 kHz) computed from their formula,
// log10(max(x, 1e-10)), max(x, global max - 8), (x + 4) / 4.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace mms::media {

constexpr int kWhisperHop = 160;
constexpr int kWhisperFft = 400;
constexpr int kWhisperWindowSamples = 480000;  // 30 s at 16 kHz
constexpr int kWhisperWindowFrames = 3000;

class LogMelSpectrogram {
 public:
  explicit LogMelSpectrogram(int n_mels);  // 80 or 128; anything else throws kInvalidArgument

  int n_mels() const { return n_mels_; }

  struct Mel {
    std::vector<float> values;  // [n_mels, frames] row-major
    int64_t frames = 0;
  };
  // The mel of `samples` followed by `pad_samples` zeros; frames = (n + pad) / 160.
  // The zeros are not materialised. torch refuses signals of 200 samples or fewer
  // (reflect padding needs more); here a sample still outside after one reflection is 0.
  // transcribe() uses pad_samples = 480000 over the whole file; one window is
  // samples padded or trimmed to 480000 with pad_samples = 0.
  Mel Compute(std::span<const float> samples, int64_t pad_samples) const;
  // One 30 s window: samples zero-padded or trimmed to 480000 -> [n_mels, 3000].
  Mel ComputeWindow(std::span<const float> samples) const;

  // The filter bank [n_mels, 201] (tests compare it with the one Whisper ships).
  const std::vector<float>& filters() const { return filters_; }

 private:
  int n_mels_ = 0;
  std::vector<float> filters_;
};

// Columns [first, first + 3000) of a [n_mels, frames] mel, padded with the
// value 0 beyond `frames` as OpenAI's pad_or_trim does on the mel -> [n_mels, 3000].
std::vector<float> MelWindow(const LogMelSpectrogram::Mel& mel, int n_mels, int64_t first_frame);

}  // namespace mms::media
