// Audio uploads: every accepted container decodes to the 16 kHz mono samples OpenAI's
// load_audio gets from the ffmpeg CLI, and every hostile or refused file is refused with
// a client-facing error, promptly. The files in tests/data/audio are written by
// tests/media/make_audio_fixtures.sh.
#include "media/audio_decoder.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <future>
#include <random>
#include <string>
#include <vector>

#include "base/file_util.h"
#include "media/log_mel.h"
#include "media_test_util.h"
#include "test_support.h"

namespace mms::media {
namespace {

using testing::AppendU16LE;
using testing::AppendU32LE;
using testing::ErrorCodeOf;

std::vector<uint8_t> Bytes(const std::string& s) { return {s.begin(), s.end()}; }

std::vector<uint8_t> ReadData(const std::string& relative) {
  return Bytes(ReadFileBytes(mms::testing::SourcePath(relative)));
}

std::vector<uint8_t> ReadAudio(const std::string& name) { return ReadData("tests/data/audio/" + name); }

std::vector<uint8_t> ReadReference(const std::string& name) {
  return ReadData("tests/data/whisper-reference/audio/" + name);
}

// The samples of a 16-bit PCM wav, read from its data chunk without FFmpeg.
std::vector<float> WavSamples(const std::vector<uint8_t>& wav) {
  size_t pos = 12;
  while (pos + 8 <= wav.size()) {
    uint32_t size = 0;
    std::memcpy(&size, &wav[pos + 4], 4);
    if (std::memcmp(&wav[pos], "data", 4) == 0) {
      std::vector<float> samples;
      for (size_t i = pos + 8; i + 1 < std::min<size_t>(wav.size(), pos + 8 + size); i += 2) {
        const int16_t v = static_cast<int16_t>(wav[i] | (wav[i + 1] << 8));
        samples.push_back(static_cast<float>(v) / 32768.0f);
      }
      return samples;
    }
    pos += 8 + size + (size & 1);
  }
  ADD_FAILURE() << "no data chunk";
  return {};
}

// A 16-bit PCM wav header; data_size is what the header claims.
std::string WavHeader(int channels, uint32_t rate, uint32_t data_size) {
  std::string s = "RIFF";
  AppendU32LE(&s, 36 + data_size);
  s += "WAVEfmt ";
  AppendU32LE(&s, 16);
  AppendU16LE(&s, 1);  // PCM
  AppendU16LE(&s, static_cast<uint32_t>(channels));
  AppendU32LE(&s, rate);
  AppendU32LE(&s, rate * static_cast<uint32_t>(channels) * 2);
  AppendU16LE(&s, static_cast<uint32_t>(channels) * 2);
  AppendU16LE(&s, 16);
  s += "data";
  AppendU32LE(&s, data_size);
  return s;
}

std::string WavFile(const std::vector<int16_t>& samples, int channels = 1, uint32_t rate = 16000) {
  std::string s = WavHeader(channels, rate, static_cast<uint32_t>(samples.size() * 2));
  for (int16_t v : samples) AppendU16LE(&s, static_cast<uint16_t>(v));
  return s;
}

double Rms(const std::vector<float>& x) {
  double sum = 0;
  for (float v : x) sum += double{v} * v;
  return x.empty() ? 0 : std::sqrt(sum / static_cast<double>(x.size()));
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

TEST(AudioDecoder, SupportedFormatsAreOpenAIs) {
  EXPECT_EQ(SupportedAudioFormatsText(), "flac, m4a, mp3, mp4, mpeg, mpga, oga, ogg, wav, webm");
  EXPECT_EQ(SupportedAudioFormats().size(), 10u);
}

TEST(AudioDecoder, Wav16kMonoIsExact) {
  const std::vector<uint8_t> wav = ReadReference("utt1.wav");
  const DecodedAudio audio = DecodeAudio(wav);
  const std::vector<float> want = WavSamples(wav);
  ASSERT_EQ(want.size(), 70647u);  // summary.json's n_samples_16k
  EXPECT_EQ(audio.samples, want);
  EXPECT_EQ(audio.container, "wav");
  EXPECT_EQ(audio.codec, "pcm_s16le");
  EXPECT_EQ(audio.source_sample_rate, 16000);
  EXPECT_EQ(audio.source_channels, 1);
  EXPECT_DOUBLE_EQ(audio.duration_seconds, 70647.0 / 16000.0);
}

// OpenAI's load_audio of a 44.1 kHz stereo file: the ffmpeg CLI's down-mix and default
// resampler. The same library with the same settings: measured bit-exact (max 0 LSB);
// the tolerance stays at 1 LSB as the README asks for a resampler.
TEST(AudioDecoder, Stereo44kMatchesOpenAILoadAudio) {
  const std::string golden =
      ReadFileBytes(mms::testing::SourcePath("tests/data/whisper-reference/golden/stereo44k.load_audio_16k_int16.bin"));
  std::vector<int16_t> want(golden.size() / 2);
  std::memcpy(want.data(), golden.data(), want.size() * 2);
  const DecodedAudio audio = DecodeAudio(ReadReference("stereo44k.wav"));
  EXPECT_EQ(audio.source_sample_rate, 44100);
  EXPECT_EQ(audio.source_channels, 2);
  ASSERT_EQ(audio.samples.size(), want.size());
  double max_lsb = 0, sum_lsb = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const double diff = std::abs(static_cast<double>(audio.samples[i]) * 32768.0 - want[i]);
    max_lsb = std::max(max_lsb, diff);
    sum_lsb += diff;
  }
  RecordProperty("max_abs_diff_lsb", std::to_string(max_lsb));
  std::printf("stereo44k vs load_audio: max %.0f LSB, mean %.6f LSB over %zu samples\n", max_lsb,
              sum_lsb / static_cast<double>(want.size()), want.size());
  EXPECT_LE(max_lsb, 1.0);
}

TEST(AudioDecoder, FlacIsLossless) {
  const DecodedAudio audio = DecodeAudio(ReadAudio("utt1.flac"));
  EXPECT_EQ(audio.container, "flac");
  EXPECT_EQ(audio.codec, "flac");
  EXPECT_EQ(audio.samples, WavSamples(ReadReference("utt1.wav")));
}

const nlohmann::json& LoadAudioSamples() {
  static const nlohmann::json counts = nlohmann::json::parse(
      ReadFileBytes(mms::testing::SourcePath("tests/data/audio/load_audio_samples.json")));
  return counts;
}

// The ffmpeg CLI's output for two lossy files: the same decoders and resampler, so the
// same samples (measured: identical on the machine that wrote them). Float decoders may
// round differently on other CPUs (SIMD paths), hence a few LSB of tolerance.
TEST(AudioDecoder, LossyFilesMatchTheFfmpegCli) {
  for (const char* name : {"utt1.mp3", "utt1.m4a"}) {
    SCOPED_TRACE(name);
    const std::vector<uint8_t> raw = ReadAudio(std::string(name) + ".load_audio.s16");
    const DecodedAudio audio = DecodeAudio(ReadAudio(name));
    ASSERT_EQ(audio.samples.size() * 2, raw.size());
    double max_lsb = 0;
    for (size_t i = 0; i < audio.samples.size(); ++i) {
      const int16_t want = static_cast<int16_t>(raw[2 * i] | (raw[2 * i + 1] << 8));
      max_lsb = std::max(max_lsb, std::abs(double{audio.samples[i]} * 32768.0 - want));
    }
    std::printf("%s vs ffmpeg CLI: max %.0f LSB\n", name, max_lsb);
    EXPECT_LE(max_lsb, 4.0);
  }
}

struct LossyCase {
  const char* file;
  const char* container;
  const char* codec;
};

// Lossy codecs: the same utterance back, at the same length (encoder delay and padding
// trimmed by the demuxer/decoder as in the CLI) and the same level and shape.
TEST(AudioDecoder, EveryAcceptedContainerDecodes) {
  const std::vector<float> wav = WavSamples(ReadReference("utt1.wav"));
  const LossyCase cases[] = {
      {"utt1.mp3", "mp3", "mp3float"},
      {"utt1.ogg", "ogg", "vorbis"},
      {"utt1.opus.oga", "ogg", "opus"},
      {"utt1.m4a", "mov,mp4,m4a,3gp,3g2,mj2", "aac"},
      {"utt1.webm", "matroska,webm", "opus"},
      {"utt1.mpeg", "mpeg", "mp2"},
      {"utt1_with_video.mp4", "mov,mp4,m4a,3gp,3g2,mj2", "aac"},
  };
  for (const LossyCase& c : cases) {
    SCOPED_TRACE(c.file);
    const DecodedAudio audio = DecodeAudio(ReadAudio(c.file));
    EXPECT_EQ(audio.container, c.container);
    EXPECT_EQ(audio.codec, c.codec);
    // As many samples as the CLI gives (decoders' delay and padding trimmed alike).
    EXPECT_EQ(audio.samples.size(), LoadAudioSamples().at(c.file).get<size_t>());
    EXPECT_NEAR(audio.duration_seconds, 70647.0 / 16000.0, 0.08);
    EXPECT_NEAR(Rms(audio.samples) / Rms(wav), 1.0, 0.15);
    // Correlation at the best lag within 1200 samples (mp2 in MPEG-PS keeps its delay).
    double best = 0;
    const size_t n = std::min(audio.samples.size(), wav.size()) - 1200;
    for (int lag = -1200; lag <= 1200; lag += 1) {
      double dot = 0, a2 = 0, b2 = 0;
      for (size_t i = 1200; i < n; i += 16) {
        const double a = wav[i], b = audio.samples[static_cast<size_t>(static_cast<int64_t>(i) + lag)];
        dot += a * b;
        a2 += a * a;
        b2 += b * b;
      }
      best = std::max(best, dot / std::sqrt(a2 * b2));
    }
    EXPECT_GT(best, 0.85);
  }
}

TEST(AudioDecoder, FloatStereoWavIsDownmixedAndResampled) {
  const DecodedAudio audio = DecodeAudio(ReadAudio("stereo44k_f32.wav"));
  EXPECT_EQ(audio.codec, "pcm_f32le");
  EXPECT_EQ(audio.source_channels, 2);
  EXPECT_EQ(audio.source_sample_rate, 44100);
  EXPECT_EQ(audio.samples.size(), LoadAudioSamples().at("stereo44k_f32.wav").get<size_t>());
  // The same first quarter second as the s16 original, through the same resampler.
  const DecodedAudio s16 = DecodeAudio(ReadReference("stereo44k.wav"));
  double max_diff = 0;
  for (size_t i = 0; i < 3900; ++i) max_diff = std::max(max_diff, double{std::abs(audio.samples[i] - s16.samples[i])});
  EXPECT_LT(max_diff, 4.0 / 32768);
}

TEST(AudioDecoder, HandBuiltWavsOfEveryShape) {
  std::vector<int16_t> stereo;
  for (int i = 0; i < 1600; ++i) {
    stereo.push_back(static_cast<int16_t>(1000));
    stereo.push_back(static_cast<int16_t>(-3001));
  }
  // Same rate: the down-mix alone, floor((L + R + 1) / 2) as the README states.
  const DecodedAudio audio = DecodeAudio(Bytes(WavFile(stereo, 2)));
  ASSERT_EQ(audio.samples.size(), 1600u);
  for (float v : audio.samples) ASSERT_EQ(v, -1000.0f / 32768.0f);
  // 8 kHz mono doubles in length (plus nothing: the resampler's tail is flushed).
  const DecodedAudio up = DecodeAudio(Bytes(WavFile(std::vector<int16_t>(800, 0), 1, 8000)));
  EXPECT_EQ(up.samples.size(), 1600u);
}

TEST(AudioDecoder, RefusesEmptyAndGarbage) {
  std::string message;
  EXPECT_EQ(ErrorCodeOf([] { DecodeAudio({}); }, &message), ErrorCode::kInvalidArgument);
  EXPECT_NE(message.find("supported formats: flac, m4a"), std::string::npos) << message;
  std::mt19937 rng(7);
  for (size_t size : {1u, 16u, 4096u, 100000u}) {
    std::vector<uint8_t> noise(size);
    for (uint8_t& b : noise) b = static_cast<uint8_t>(rng());
    const ErrorCode code = ErrorCodeOf([&] { DecodeAudio(noise); });
    EXPECT_TRUE(code == ErrorCode::kInvalidArgument || code == ErrorCode::kUnsupportedMedia) << size;
  }
  EXPECT_EQ(ErrorCodeOf([] { DecodeAudio(Bytes("just some text, not audio at all\n")); }),
            ErrorCode::kInvalidArgument);
}

TEST(AudioDecoder, RefusesTruncatedFiles) {
  for (const char* name : {"utt1.m4a", "utt1.webm", "utt1.flac", "utt1.ogg"}) {
    SCOPED_TRACE(name);
    std::vector<uint8_t> bytes = ReadAudio(name);
    bytes.resize(40);  // inside the header
    const ErrorCode code = ErrorCodeOf([&] { DecodeAudio(bytes); });
    EXPECT_TRUE(code == ErrorCode::kInvalidArgument || code == ErrorCode::kUnsupportedMedia);
  }
  // The m4a's index (moov) is at its end: without it nothing can be decoded.
  std::vector<uint8_t> m4a = ReadAudio("utt1.m4a");
  m4a.resize(m4a.size() / 2);
  EXPECT_EQ(ErrorCodeOf([&] { DecodeAudio(m4a); }), ErrorCode::kInvalidArgument);
  // A wav cut in its data decodes what is there, as the CLI does.
  std::vector<uint8_t> wav = ReadReference("utt1.wav");
  wav.resize(44 + 2 * 1000);
  EXPECT_EQ(DecodeAudio(wav).samples.size(), 1000u);
}

TEST(AudioDecoder, LyingWavHeadersDoNotAllocateOrHang) {
  const auto start = std::chrono::steady_clock::now();
  // 4 GB of data claimed, 100 bytes given.
  std::string wav = WavHeader(1, 16000, 0xFFFFFFF0u) + std::string(100, '\x01');
  const DecodedAudio audio = DecodeAudio(Bytes(wav));
  EXPECT_LE(audio.samples.size(), 50u);
  // Absurd channel counts and rates.
  for (auto [channels, rate] : {std::pair{65535, 16000u}, {1, 0u}, {1, 0xFFFFFFFFu}, {0, 16000u}, {200, 8000u}}) {
    SCOPED_TRACE(std::to_string(channels) + " channels at " + std::to_string(rate));
    const std::string bad = WavHeader(channels, rate, 0xFFFFFFF0u) + std::string(4000, '\x02');
    const ErrorCode code = ErrorCodeOf([&] { DecodeAudio(Bytes(bad)); });
    EXPECT_TRUE(code == ErrorCode::kInvalidArgument || code == ErrorCode::kUnsupportedMedia);
  }
  EXPECT_LT(Seconds(start), 5.0);
}

TEST(AudioDecoder, RefusesFormatsOutsideTheAllowlist) {
  std::string message;
  EXPECT_EQ(ErrorCodeOf([] { DecodeAudio(ReadAudio("utt1.aiff")); }, &message), ErrorCode::kUnsupportedMedia);
  EXPECT_NE(message.find("aiff"), std::string::npos) << message;
  EXPECT_NE(message.find(SupportedAudioFormatsText()), std::string::npos) << message;
  EXPECT_EQ(ErrorCodeOf([] { DecodeAudio(ReadAudio("utt1_alac.m4a")); }, &message), ErrorCode::kUnsupportedMedia);
  EXPECT_NE(message.find("alac"), std::string::npos) << message;
}

TEST(AudioDecoder, RefusesAFileWithoutAudio) {
  std::string message;
  EXPECT_EQ(ErrorCodeOf([] { DecodeAudio(ReadAudio("video_only.mp4")); }, &message), ErrorCode::kInvalidArgument);
  EXPECT_NE(message.find("no audio stream"), std::string::npos) << message;
}

// Five minutes of silence (a small FLAC) against a one-second cap: refused, and long
// before the whole file is decoded.
TEST(AudioDecoder, DurationCapStopsDecodingEarly) {
  const std::vector<uint8_t> flac = ReadAudio("silence300.flac");
  auto start = std::chrono::steady_clock::now();
  const DecodedAudio full = DecodeAudio(flac);
  const double full_seconds = Seconds(start);
  EXPECT_EQ(full.samples.size(), 300u * 16000u);
  EXPECT_TRUE(std::all_of(full.samples.begin(), full.samples.end(), [](float v) { return v == 0.0f; }));

  AudioLimits limits;
  limits.max_duration_seconds = 1.0;
  double capped_seconds = 1e9;
  for (int i = 0; i < 3; ++i) {
    std::string message;
    start = std::chrono::steady_clock::now();
    EXPECT_EQ(ErrorCodeOf([&] { DecodeAudio(flac, limits); }, &message), ErrorCode::kTooLarge);
    capped_seconds = std::min(capped_seconds, Seconds(start));
    EXPECT_NE(message.find("limit of 1 seconds"), std::string::npos) << message;
  }
  EXPECT_LT(capped_seconds, full_seconds / 5) << "capped " << capped_seconds << " s, full " << full_seconds << " s";

  // Exactly at the cap is accepted; one sample over is not.
  const std::vector<uint8_t> wav = ReadReference("utt1.wav");
  limits.max_duration_seconds = 70647.0 / 16000.0;
  EXPECT_EQ(DecodeAudio(wav, limits).samples.size(), 70647u);
  limits.max_duration_seconds = 70646.0 / 16000.0;
  EXPECT_EQ(ErrorCodeOf([&] { DecodeAudio(wav, limits); }), ErrorCode::kTooLarge);
}

TEST(AudioDecoder, SmallProbeCapStillOpensFiles) {
  AudioLimits limits;
  limits.max_probe_bytes = 1;  // raised to FFmpeg's 2 KiB minimum
  EXPECT_EQ(DecodeAudio(ReadAudio("utt1.mp3"), limits).codec, "mp3float");
}

TEST(AudioDecoder, ConcurrentDecodesAgree) {
  const char* names[] = {"utt1.mp3", "utt1.ogg", "utt1.m4a", "utt1.webm", "utt1.flac", "utt1.mpeg"};
  std::vector<std::vector<float>> serial;
  for (const char* name : names) serial.push_back(DecodeAudio(ReadAudio(name)).samples);
  std::vector<std::future<std::vector<float>>> parallel;
  for (int round = 0; round < 2; ++round) {
    for (const char* name : names) {
      parallel.push_back(std::async(std::launch::async, [name] { return DecodeAudio(ReadAudio(name)).samples; }));
    }
  }
  for (size_t i = 0; i < parallel.size(); ++i) EXPECT_EQ(parallel[i].get(), serial[i % 6]) << names[i % 6];
}

// Not an assertion: the figures for the report (decode + mel of five minutes).
TEST(AudioDecoder, TimingOfFiveMinutes) {
  const std::vector<float> utt = WavSamples(ReadReference("utt1.wav"));
  std::vector<int16_t> pcm;
  while (pcm.size() < 300u * 16000u) {
    for (float v : utt) pcm.push_back(static_cast<int16_t>(std::lround(v * 32768.0f)));
  }
  pcm.resize(300u * 16000u);
  const std::vector<uint8_t> wav = Bytes(WavFile(pcm));
  auto start = std::chrono::steady_clock::now();
  const DecodedAudio audio = DecodeAudio(wav);
  const double decode_wav = Seconds(start);
  start = std::chrono::steady_clock::now();
  DecodeAudio(ReadAudio("silence300.flac"));
  const double decode_flac = Seconds(start);
  const LogMelSpectrogram mel(80);
  start = std::chrono::steady_clock::now();
  const LogMelSpectrogram::Mel m = mel.Compute(audio.samples, kWhisperWindowSamples);
  const double mel_seconds = Seconds(start);
  EXPECT_EQ(m.frames, (300 * 16000 + kWhisperWindowSamples) / 160);
  std::printf("5 min: decode wav %.3f s, decode flac %.3f s, mel (+30 s padding) %.3f s\n", decode_wav, decode_flac,
              mel_seconds);
}

}  // namespace
}  // namespace mms::media
