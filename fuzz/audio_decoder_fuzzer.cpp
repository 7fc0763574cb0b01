// Audio uploads (media::DecodeAudio: FFmpeg's allowlisted demuxers and decoders over an
// in-memory AVIOContext, then libswresample), and the log-mel of what comes out.
#include <cmath>
#include <span>
#include <string>

#include "fuzz_support.h"
#include "media/audio_decoder.h"
#include "media/log_mel.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A short cap keeps each input fast; the probe cap is the server's default.
  mms::media::AudioLimits limits;
  limits.max_duration_seconds = 20.0;
  mms::fuzz::ExpectCleanRefusal("DecodeAudio", [&] {
    const mms::media::DecodedAudio audio = mms::media::DecodeAudio(std::span<const uint8_t>(data, size), limits);
    const double cap = limits.max_duration_seconds * mms::media::kWhisperSampleRate;
    if (audio.samples.empty()) mms::fuzz::Finding("DecodeAudio", "accepted a file with no samples");
    if (static_cast<double>(audio.samples.size()) > cap) {
      mms::fuzz::Finding("DecodeAudio", std::to_string(audio.samples.size()) + " samples, over the cap");
    }
    if (audio.duration_seconds != static_cast<double>(audio.samples.size()) / mms::media::kWhisperSampleRate) {
      mms::fuzz::Finding("DecodeAudio", "duration_seconds disagrees with the sample count");
    }
    for (float v : audio.samples) {
      // int16 / 32768: every sample is a multiple of 2^-15 in [-1, 1).
      if (!(v >= -1.0f && v < 1.0f) || std::ldexp(v, 15) != std::nearbyint(std::ldexp(v, 15))) {
        mms::fuzz::Finding("DecodeAudio", "a sample is not int16 / 32768: " + std::to_string(v));
      }
    }
    // The first second's mel (cheap), as the server computes it next.
    static const mms::media::LogMelSpectrogram mel(80);
    const auto first = std::span<const float>(audio.samples).first(std::min<size_t>(audio.samples.size(), 16000));
    const mms::media::LogMelSpectrogram::Mel m = mel.Compute(first, 0);
    for (float v : m.values) {
      if (!std::isfinite(v)) mms::fuzz::Finding("LogMelSpectrogram", "non-finite value");
    }
  });
  return 0;
}
