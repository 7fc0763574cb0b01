// Long-form transcription against OpenAI's own transcribe() on the reference checkpoint
// (tests/data/whisper-reference/longform, made by tests/speech/make_whisper_references.py):
// 66.6 s of audio over three to four 30 s windows, the seek driven by the timestamp tokens;
// segments (seek, start, end, tokens, text, temperature, avg_logprob, compression_ratio,
// no_speech_prob) and the text identical, with and without the previous text, with an
// initial prompt, with language detection, translating, without timestamps, skipping
// silence, and the temperature-fallback decisions.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "base/file_util.h"
#include "generation/generation_engine.h"
#include "media/audio_decoder.h"
#include "media/log_mel.h"
#include "models/speech_encoder.h"
#include "models/whisper/whisper_model.h"
#include "runtime/speech_service.h"
#include "speech/transcriber.h"
#include "test_support.h"
#include "whisper_speech_support.h"
#include "text/hf_tokenizer.h"

namespace mms::speech {
namespace {

std::string Data(const std::string& rel) { return WhisperData(rel); }

nlohmann::json Json(const std::string& rel) {
  std::ifstream f(Data(rel));
  return nlohmann::json::parse(f);
}

std::vector<float> Samples(const std::string& rel) {
  const std::string bytes = ReadFileBytes(Data(rel));
  return media::DecodeAudio(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()))
      .samples;
}

const std::vector<float>& LongAudio() {
  static const std::vector<float> samples = Samples("longform/long.wav");
  return samples;
}

// transcribe()'s options as the reference file recorded them.
TranscriptionOptions OptionsOf(const nlohmann::json& o) {
  TranscriptionOptions t;
  if (o["temperature"].is_array()) {
    t.temperature = o["temperature"][0];
    t.temperature_increment = 0.2f;
  } else {
    t.temperature = o["temperature"];
    t.temperature_increment = 0;  // one temperature: no fallback
  }
  if (o.contains("language") && !o["language"].is_null()) t.language = o["language"];
  if (o.value("task", "transcribe") == "translate") t.translate = true;
  if (o.contains("condition_on_previous_text")) t.condition_on_previous_text = o["condition_on_previous_text"];
  if (o.contains("initial_prompt")) t.initial_prompt = o["initial_prompt"];
  if (o.contains("without_timestamps")) t.without_timestamps = o["without_timestamps"];
  const auto threshold = [&](const char* key, std::optional<float>& field) {
    if (!o.contains(key)) return;
    if (o[key].is_null()) field.reset();
    else field = o[key].get<float>();
  };
  threshold("compression_ratio_threshold", t.compression_ratio_threshold);
  threshold("logprob_threshold", t.logprob_threshold);
  threshold("no_speech_threshold", t.no_speech_threshold);
  t.seed = 1;
  return t;
}

void ExpectSegment(const TranscriptSegment& got, const nlohmann::json& want, const std::string& where) {
  EXPECT_EQ(got.id, want["id"].get<int>()) << where;
  EXPECT_EQ(got.seek, want["seek"].get<int64_t>()) << where;
  EXPECT_NEAR(got.start, want["start"].get<double>(), 1e-9) << where;
  EXPECT_NEAR(got.end, want["end"].get<double>(), 1e-9) << where;
  EXPECT_EQ(got.tokens, want["tokens"].get<std::vector<int32_t>>()) << where;
  EXPECT_EQ(got.text, want["text"].get<std::string>()) << where;
  EXPECT_NEAR(got.temperature, want["temperature"].get<double>(), 1e-6) << where;
  EXPECT_NEAR(got.avg_logprob, want["avg_logprob"].get<double>(), 2e-4) << where;
  EXPECT_NEAR(got.compression_ratio, want["compression_ratio"].get<double>(), 1e-9) << where;
  EXPECT_NEAR(got.no_speech_prob, want["no_speech_prob"].get<double>(),
              1e-3 * want["no_speech_prob"].get<double>() + 1e-9) << where;
}

// Every segment from windows that started at t = 0 (greedy) must match; `first_only_windows`
// stops the comparison where the reference sampled at t > 0 (random on both sides).
void CheckRun(const std::string& file, const std::string& audio = "longform/long.wav",
              std::optional<int64_t> stop_at_seek = std::nullopt) {
  const auto ref = Json("longform/" + file);
  const std::vector<float> samples = audio == "longform/long.wav" ? LongAudio() : Samples(audio);
  const Transcript t = Reference().service->Transcribe(samples, OptionsOf(ref["options"]));
  const auto& want = ref["segments"];
  size_t compared = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    if (stop_at_seek && want[i]["seek"].get<int64_t>() >= *stop_at_seek) break;
    ASSERT_LT(i, t.segments.size()) << file << ": only " << t.segments.size() << " segments";
    ExpectSegment(t.segments[i], want[i], file + " segment " + std::to_string(i));
    ++compared;
  }
  if (!stop_at_seek) {
    EXPECT_EQ(t.segments.size(), want.size()) << file;
    EXPECT_EQ(t.text, ref["text"].get<std::string>()) << file;
    EXPECT_EQ(t.language_code, ref["language"].get<std::string>()) << file;
  }
  EXPECT_GT(compared + (want.empty() ? 1 : 0), 0u) << file;
}

TEST(WhisperTranscribe, GreedyLongFormMatchesOpenAI) { CheckRun("transcribe_greedy.json"); }
TEST(WhisperTranscribe, WithoutPreviousText) { CheckRun("transcribe_greedy_nocond.json"); }
TEST(WhisperTranscribe, InitialPrompt) { CheckRun("transcribe_greedy_prompt.json"); }
TEST(WhisperTranscribe, DetectsTheLanguageOnTheFirstWindow) { CheckRun("transcribe_detect_lang.json"); }
// Detection encodes the first 30 s; on audio that long, the first window of the seek loop
// is the same frames and reuses that encoding: one encoder pass per window, not one more.
TEST(WhisperTranscribe, DetectionEncodingServesTheFirstWindow) {
  const auto ref = Json("longform/transcribe_detect_lang.json");
  auto& service = *Reference().service;
  const uint64_t encoded_before = service.Stats().encoder.success_count;
  const Transcript t = service.Transcribe(LongAudio(), OptionsOf(ref["options"]));
  const uint64_t encoded = service.Stats().encoder.success_count - encoded_before;
  ASSERT_GE(t.stats.windows, 3);
  EXPECT_EQ(encoded, static_cast<uint64_t>(t.stats.windows));
  EXPECT_EQ(t.text, ref["text"].get<std::string>());
}

TEST(WhisperTranscribe, Translate) { CheckRun("transcribe_translate.json"); }
TEST(WhisperTranscribe, WithoutTimestamps) { CheckRun("transcribe_notimestamps.json"); }
TEST(WhisperTranscribe, OneWindowFiles) {
  CheckRun("transcribe_utt1_greedy.json", "audio/utt1.wav");
  CheckRun("transcribe_silence3_greedy.json", "audio/silence3.wav");
}
TEST(WhisperTranscribe, SkipsWindowsOverTheNoSpeechThreshold) { CheckRun("transcribe_nospeech_thr2e-6.json"); }
TEST(WhisperTranscribe, SilenceIsSkippedNotDecodedAgain) {
  const auto ref = Json("longform/transcribe_silence3_nospeech.json");
  const Transcript t = Reference().service->Transcribe(Samples("audio/silence3.wav"), OptionsOf(ref["options"]));
  EXPECT_TRUE(t.segments.empty());
  EXPECT_EQ(t.text, "");
  EXPECT_EQ(t.stats.fallbacks, 0);  // no-speech with a low log-probability cancels the fallback
}

TEST(WhisperTranscribe, FallsBackWhereOpenAIDoes) {
  // Compression-ratio threshold 1.75: the windows at 0 and 2424 pass at t = 0, the one at
  // 5154 (ratio 1.92) is decoded again at a higher temperature (whose samples are random).
  const auto ref = Json("longform/transcribe_fallback_cr175.json");
  CheckRun("transcribe_fallback_cr175.json", "longform/long.wav", 5154);
  const Transcript t = Reference().service->Transcribe(LongAudio(), OptionsOf(ref["options"]));
  ASSERT_GE(t.segments.size(), 1u);
  bool fell_back = false;
  for (const auto& s : t.segments) {
    if (s.seek == 5154) fell_back = fell_back || s.temperature > 0.1f;
  }
  EXPECT_TRUE(fell_back || t.stats.fallbacks > 0);
  EXPECT_GE(t.stats.fallbacks, 1);
}

TEST(WhisperTranscribe, LanguageDetectionPerFile) {
  const auto ref = Json("longform/detect_language.json")["files"];
  const media::LogMelSpectrogram mel(80);
  for (const char* f : {"utt1.wav", "utt2.wav", "utt3.wav", "silence3.wav", "stereo44k.wav"}) {
    const auto window = mel.ComputeWindow(Samples(std::string("audio/") + f));
    TranscriptionOptions o;
    o.temperature_increment = 0;
    o.max_tokens_per_window = 1;
    const WindowDecoding d = Reference().service->DecodeWindow(window.values, o);
    EXPECT_EQ(d.language_code, ref[f]["language"].get<std::string>()) << f;
  }
}

TEST(WhisperTranscribe, CompressionRatioIsZlibs) {
  const nlohmann::json ref = Json("longform/compression_ratio.json");  // kept: a range-for over a temporary's member dangles
  for (const auto& c : ref["cases"]) {
    EXPECT_DOUBLE_EQ(CompressionRatio(c["text"].get<std::string>()), c["compression_ratio"].get<double>())
        << c["text"].get<std::string>();
  }
}

}  // namespace
}  // namespace mms::speech
