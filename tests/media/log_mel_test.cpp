// Whisper's log-mel spectrogram against OpenAI's own (tests/data/whisper-reference,
// converted by tests/media/convert_whisper_golden.py), and against a plain DFT written
// from the definition.
#include "media/log_mel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "base/file_util.h"
#include "media/audio_decoder.h"
#include "media_test_util.h"
#include "test_support.h"

namespace mms::media {
namespace {

using testing::ErrorCodeOf;

std::vector<float> ReadFloats(const std::string& name) {
  const std::string bytes = ReadFileBytes(mms::testing::SourcePath("tests/data/whisper-reference/golden/" + name));
  std::vector<float> values(bytes.size() / 4);
  std::memcpy(values.data(), bytes.data(), values.size() * 4);
  return values;
}

std::vector<float> DecodeReference(const std::string& name) {
  const std::string bytes = ReadFileBytes(mms::testing::SourcePath("tests/data/whisper-reference/audio/" + name));
  return DecodeAudio(std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size())).samples;
}

// Max |got - want| over [80, frames] with `want` holding every `step`-th frame of `got`.
double MaxDiff(const std::vector<float>& got, int64_t frames, const std::vector<float>& want, int step) {
  const int64_t want_frames = (frames + step - 1) / step;
  EXPECT_EQ(want.size(), static_cast<size_t>(80 * want_frames));
  double max_diff = 0;
  for (int m = 0; m < 80; ++m) {
    for (int64_t j = 0; j < want_frames; ++j) {
      const double d = std::abs(double{got[m * frames + j * step]} - want[m * want_frames + j]);
      max_diff = std::max(max_diff, std::isnan(d) ? 1e9 : d);
    }
  }
  return max_diff;
}

// The tolerance of the reference's README for a float32 STFT.
constexpr double kTolerance = 1e-4;

TEST(LogMel, FullWindowsMatchWhisper) {
  const LogMelSpectrogram mel(80);
  for (const char* stem : {"utt1", "silence3"}) {  // silence3.wav is dithered: not constant
    SCOPED_TRACE(stem);
    const LogMelSpectrogram::Mel got = mel.ComputeWindow(DecodeReference(std::string(stem) + ".wav"));
    ASSERT_EQ(got.frames, kWhisperWindowFrames);
    ASSERT_EQ(got.values.size(), 80u * 3000u);
    const double diff = MaxDiff(got.values, got.frames, ReadFloats("mel_" + std::string(stem) + ".bin"), 1);
    std::printf("%s: max |mel - whisper| %.3g over all 80x3000\n", stem, diff);
    EXPECT_LE(diff, kTolerance);
  }
}

TEST(LogMel, EveryFifthFrameMatchesWhisper) {
  const LogMelSpectrogram mel(80);
  for (const char* stem : {"utt2", "utt3", "stereo44k"}) {  // stereo44k: through the resampler
    SCOPED_TRACE(stem);
    const LogMelSpectrogram::Mel got = mel.ComputeWindow(DecodeReference(std::string(stem) + ".wav"));
    const double diff = MaxDiff(got.values, got.frames, ReadFloats("mel5_" + std::string(stem) + ".bin"), 5);
    std::printf("%s: max |mel - whisper| %.3g over every 5th frame\n", stem, diff);
    EXPECT_LE(diff, kTolerance);
  }
}

TEST(LogMel, DigitalSilenceIsMinusOnePointFive) {
  const LogMelSpectrogram mel(80);
  for (size_t n : {0u, 1u, 16000u, 480000u, 500000u}) {
    const LogMelSpectrogram::Mel got = mel.ComputeWindow(std::vector<float>(n, 0.0f));
    ASSERT_EQ(got.frames, 3000);
    EXPECT_TRUE(std::all_of(got.values.begin(), got.values.end(), [](float v) { return v == -1.5f; })) << n;
  }
}

// golden/melcheck.json does not ship the filter values, only their check against
// Whisper's mel_filters.npz: shape [80, 201], largest weight 0.025880683213472366.
TEST(LogMel, FilterBankIsSlaneys) {
  const LogMelSpectrogram mel(80);
  const std::vector<float>& f = mel.filters();
  ASSERT_EQ(f.size(), 80u * 201u);
  EXPECT_NEAR(*std::max_element(f.begin(), f.end()), 0.025880683213472366, 2e-9);
  // Slaney normalisation: each triangle has unit area in Hz (bins are 40 Hz apart), which
  // the sampled weights show for the filters many bins wide.
  int wide = 0;
  for (int m = 0; m < 80; ++m) {
    double sum = 0;
    int nonzero = 0;
    for (int k = 0; k < 201; ++k) {
      sum += f[m * 201 + k];
      nonzero += f[m * 201 + k] > 0;
      ASSERT_GE(f[m * 201 + k], 0.0f);
    }
    EXPECT_GT(nonzero, 0) << m;
    if (nonzero >= 8) {
      ++wide;
      EXPECT_NEAR(sum * 40.0, 1.0, 0.02) << m;
    }
  }
  EXPECT_GT(wide, 15);
  // The first filter starts at 0 Hz (weight 0) and rises at bin 1 (40 Hz); the last
  // ends at 8 kHz (weight 0 there) and is non-zero just below.
  EXPECT_EQ(f[0], 0.0f);
  EXPECT_GT(f[1], 0.0f);
  EXPECT_EQ(f[201 * 79 + 200], 0.0f);
  EXPECT_GT(f[201 * 79 + 199], 0.0f);

  const LogMelSpectrogram large(128);
  EXPECT_EQ(large.filters().size(), 128u * 201u);
  EXPECT_EQ(ErrorCodeOf([] { LogMelSpectrogram bad(64); }), ErrorCode::kInvalidArgument);
}

// The whole computation written from its definition (reflect padding, naive DFT).
std::vector<float> ReferenceLogMel(const LogMelSpectrogram& mel, const std::vector<float>& x) {
  const int64_t n = static_cast<int64_t>(x.size());
  const int64_t frames = n / 160;
  std::vector<double> logs(80 * frames);
  for (int64_t t = 0; t < frames; ++t) {
    std::vector<double> power(201);
    for (int k = 0; k < 201; ++k) {
      double re = 0, im = 0;
      for (int i = 0; i < 400; ++i) {
        int64_t j = t * 160 + i - 200;
        if (j < 0) j = -j;
        if (j >= n) j = 2 * (n - 1) - j;
        const double w = 0.5 - 0.5 * std::cos(2 * std::numbers::pi * i / 400);
        const double angle = -2 * std::numbers::pi * k * i / 400;
        re += w * x[j] * std::cos(angle);
        im += w * x[j] * std::sin(angle);
      }
      power[k] = re * re + im * im;
    }
    for (int m = 0; m < 80; ++m) {
      double sum = 0;
      for (int k = 0; k < 201; ++k) sum += double{mel.filters()[m * 201 + k]} * power[k];
      logs[m * frames + t] = std::log10(std::max(sum, 1e-10));
    }
  }
  const double top = *std::max_element(logs.begin(), logs.end());
  std::vector<float> out;
  for (double v : logs) out.push_back(static_cast<float>((std::max(v, top - 8) + 4) / 4));
  return out;
}

TEST(LogMel, MatchesAPlainDftWithReflectPadding) {
  const LogMelSpectrogram mel(80);
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 0.1f);
  std::vector<float> x(3000);
  for (size_t i = 0; i < x.size(); ++i) x[i] = normal(rng) + 0.3f * std::sin(0.05f * i);
  const LogMelSpectrogram::Mel got = mel.Compute(x, 0);
  ASSERT_EQ(got.frames, 3000 / 160);
  const std::vector<float> want = ReferenceLogMel(mel, x);
  double max_diff = 0;
  for (size_t i = 0; i < want.size(); ++i) max_diff = std::max(max_diff, double{std::abs(got.values[i] - want[i])});
  EXPECT_LT(max_diff, 1e-5);
}

TEST(LogMel, ShortInputsAreFiniteAndInBounds) {
  const LogMelSpectrogram mel(80);
  for (size_t n : {0u, 1u, 2u, 159u, 160u, 161u, 199u, 200u, 201u, 320u, 401u}) {
    SCOPED_TRACE(n);
    std::vector<float> x(n);
    for (size_t i = 0; i < n; ++i) x[i] = std::sin(0.3f * static_cast<float>(i));
    const LogMelSpectrogram::Mel got = mel.Compute(x, 0);
    EXPECT_EQ(got.frames, static_cast<int64_t>(n / 160));
    EXPECT_EQ(got.values.size(), 80 * (n / 160));
    for (float v : got.values) ASSERT_TRUE(std::isfinite(v));
  }
  EXPECT_EQ(ErrorCodeOf([&] { mel.Compute({}, -1); }), ErrorCode::kInvalidArgument);
}

// transcribe(): the mel of the whole file plus 30 s of zeros, cut into windows. For a
// file under 30 s the first window is the single-window mel (same loudest frame).
TEST(LogMel, PaddedWholeFileAndMelWindow) {
  const LogMelSpectrogram mel(80);
  const std::vector<float> audio = DecodeReference("utt1.wav");
  const LogMelSpectrogram::Mel whole = mel.Compute(audio, kWhisperWindowSamples);
  ASSERT_EQ(whole.frames, (70647 + 480000) / 160);
  EXPECT_EQ(MelWindow(whole, 80, 0), mel.ComputeWindow(audio).values);

  // Beyond the end: zeros (not -1.5), as pad_or_trim pads the mel.
  const std::vector<float> tail = MelWindow(whole, 80, 3000);
  const int64_t kept = whole.frames - 3000;
  for (int m = 0; m < 80; ++m) {
    for (int64_t t = 0; t < 3000; ++t) {
      const float want = t < kept ? whole.values[m * whole.frames + 3000 + t] : 0.0f;
      ASSERT_EQ(tail[m * 3000 + t], want) << m << "," << t;
    }
  }
  const std::vector<float> past = MelWindow(whole, 80, 1 << 20);
  EXPECT_TRUE(std::all_of(past.begin(), past.end(), [](float v) { return v == 0.0f; }));
  EXPECT_EQ(ErrorCodeOf([&] { MelWindow(whole, 80, -1); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(ErrorCodeOf([&] { MelWindow(whole, 128, 0); }), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace mms::media
