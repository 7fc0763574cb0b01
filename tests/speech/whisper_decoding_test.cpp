// Whisper decoding end to end on the reference checkpoint (tests/data/whisper-reference),
// against OpenAI's own whisper code: the special tokens and suppression sets, the
// tokenizer, and whole windows decoded through the serving path (window batcher, the
// generation scheduler, Whisper's logit filters): 20 greedy tokens with and without
// timestamps identical, average log-probability and no-speech probability within 1e-4.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>

#include "generation/generation_engine.h"
#include "models/speech_encoder.h"
#include "models/whisper/whisper_model.h"
#include "runtime/speech_service.h"
#include "speech/whisper_vocabulary.h"
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

std::vector<float> Floats(const std::string& rel) {
  std::ifstream f(Data(rel), std::ios::binary | std::ios::ate);
  EXPECT_TRUE(f) << rel;
  std::vector<float> v(static_cast<size_t>(f.tellg()) / sizeof(float));
  f.seekg(0);
  f.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(float)));
  return v;
}

TEST(WhisperVocabulary, ReadsEveryIdFromTheCheckpoint) {
  const auto cases = Json("golden/tokenizer_cases.json");
  const WhisperVocabulary& v = *Reference().vocabulary;
  const auto& ids = cases["special_ids"];
  EXPECT_EQ(v.eot, ids["<|endoftext|>"]);
  EXPECT_EQ(v.sot, ids["<|startoftranscript|>"]);
  EXPECT_EQ(v.translate, ids["<|translate|>"]);
  EXPECT_EQ(v.transcribe, ids["<|transcribe|>"]);
  EXPECT_EQ(v.sot_lm, ids["<|startoflm|>"]);
  EXPECT_EQ(v.sot_prev, ids["<|startofprev|>"]);
  EXPECT_EQ(v.no_speech, ids["<|nospeech|>"]);
  EXPECT_EQ(v.no_timestamps, ids["<|notimestamps|>"]);
  EXPECT_EQ(v.timestamp_begin, ids["<|0.00|>"]);
  ASSERT_EQ(v.languages.size(), cases["languages"].size());
  for (size_t i = 0; i < v.languages.size(); ++i) EXPECT_EQ(v.languages[i].code, cases["languages"][i]) << i;
  EXPECT_EQ(v.FindLanguage("English")->token, ids["<|en|>"]);
  EXPECT_EQ(v.FindLanguage("en")->name, "english");
  EXPECT_EQ(v.FindLanguage("klingon"), nullptr);
  EXPECT_EQ(v.SotSequence(v.FindLanguage("en"), false, false), cases["sot_sequence"].get<std::vector<int32_t>>());
  EXPECT_EQ(v.SotSequence(v.FindLanguage("en"), false, true),
            cases["sot_sequence_including_notimestamps"].get<std::vector<int32_t>>());
  EXPECT_EQ(v.begin_suppress, cases["blank_suppress"].get<std::vector<int32_t>>());
  // OpenAI's suppress_tokens="-1": the non-speech symbols plus the task and control tokens.
  std::vector<int32_t> expected = cases["non_speech_tokens"].get<std::vector<int32_t>>();
  for (const char* t : {"<|translate|>", "<|transcribe|>", "<|startoftranscript|>", "<|startofprev|>",
                        "<|startoflm|>", "<|nospeech|>"}) {
    expected.push_back(ids[t]);
  }
  std::sort(expected.begin(), expected.end());
  expected.erase(std::unique(expected.begin(), expected.end()), expected.end());
  EXPECT_EQ(v.suppress, expected);
}

TEST(WhisperTokenizer, EncodesAndDecodesAsWhispersOwnTokenizer) {
  const auto cases = Json("golden/tokenizer_cases.json");
  const text::HfTokenizer& tok = Reference().tokenizer;
  for (const auto& c : cases["cases"]) {
    const std::string text = c["text"];
    // Prompts are encoded as plain text (special-token text included), as tiktoken's
    // encode(disallowed_special=()) does; what OpenAI's default encode refuses is text here.
    const std::pair<size_t, size_t> all{0, text.size()};
    EXPECT_EQ(tok.EncodeWithLiteralRanges(text, std::span(&all, 1), false), c["ids"].get<std::vector<int32_t>>())
        << text;
    EXPECT_EQ(tok.Decode(c["ids"].get<std::vector<int32_t>>(), false), c["decoded"].get<std::string>()) << text;
  }
  for (const auto& c : cases["special_cases"]) {
    if (!c.contains("decode_with_timestamps")) continue;
    EXPECT_EQ(tok.Decode(c["ids"].get<std::vector<int32_t>>(), false), c["decode_with_timestamps"].get<std::string>());
  }
}

// One window through the serving path, as OpenAI's decode(sample_len=20) ran it.
void CheckGreedyWindow(const std::string& file, const std::string& mel_file, bool timestamps) {
  const auto summary = Json("golden/summary.json");
  const auto& ref = summary["files"][file]["tiny-random"][timestamps ? "ts" : "notime"];
  TranscriptionOptions o;
  o.language = "en";
  o.temperature = 0;
  o.temperature_increment = 0;
  o.max_tokens_per_window = 20;
  o.without_timestamps = !timestamps;
  const WindowDecoding d = Reference().service->DecodeWindow(Floats("golden/" + mel_file), o);
  EXPECT_EQ(d.tokens, ref["result_tokens"].get<std::vector<int32_t>>()) << file;
  EXPECT_NEAR(d.avg_logprob, ref["avg_logprob"].get<double>(), 1e-4) << file;
  EXPECT_NEAR(d.no_speech_prob, ref["no_speech_prob"].get<double>(), 1e-5) << file;
  EXPECT_EQ(d.text, ref["text"].get<std::string>()) << file;
}

TEST(WhisperDecoding, GreedyWithoutTimestampsMatchesOpenAI) {
  CheckGreedyWindow("utt1", "mel_utt1.bin", false);
  CheckGreedyWindow("silence3", "mel_silence3.bin", false);
}

TEST(WhisperDecoding, GreedyWithTimestampRulesMatchesOpenAI) {
  CheckGreedyWindow("utt1", "mel_utt1.bin", true);
  CheckGreedyWindow("silence3", "mel_silence3.bin", true);
}

TEST(WhisperDecoding, ConcurrentWindowsDecodeAsAlone) {
  // Several requests at once: their windows share encoder batches and decoder steps.
  const auto summary = Json("golden/summary.json");
  std::vector<std::future<WindowDecoding>> runs;
  for (int i = 0; i < 6; ++i) {
    runs.push_back(std::async(std::launch::async, [i] {
      TranscriptionOptions o;
      o.language = "en";
      o.temperature_increment = 0;
      o.max_tokens_per_window = 20;
      o.without_timestamps = i % 2 == 0;
      return Reference().service->DecodeWindow(Floats(i % 3 == 0 ? "golden/mel_silence3.bin" : "golden/mel_utt1.bin"), o);
    }));
  }
  for (int i = 0; i < 6; ++i) {
    const auto& ref = summary["files"][i % 3 == 0 ? "silence3" : "utt1"]["tiny-random"][i % 2 == 0 ? "notime" : "ts"];
    EXPECT_EQ(runs[i].get().tokens, ref["result_tokens"].get<std::vector<int32_t>>()) << i;
  }
}

}  // namespace
}  // namespace mms::speech
