// OpenAI's audio API shapes: the multipart form's fields and refusals, and a transcript
// written in every response_format and as server-sent events.
#include "api/transcription_format.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace mms::api::openai {
namespace {

MultipartPart Part(const std::string& name, std::string_view content, const std::string& filename = "") {
  MultipartPart p;
  p.name = name;
  p.content = content;
  p.filename = filename;
  return p;
}

ErrorCode CodeOf(const std::vector<MultipartPart>& parts, size_t max_bytes = 1000) {
  try {
    ParseTranscriptionForm(parts, false, max_bytes);
  } catch (const Error& e) {
    return e.code();
  }
  return ErrorCode::kInternal;  // stands for "accepted"
}

speech::Transcript TwoSegments() {
  speech::Transcript t;
  t.text = " Hello there. General Kenobi.";
  t.language = "english";
  t.language_code = "en";
  t.duration = 3661.5;
  speech::TranscriptSegment a;
  a.id = 0;
  a.start = 0.0;
  a.end = 1.5;
  a.text = " Hello there.";
  a.tokens = {50364, 2425, 456, 13, 50439};
  a.avg_logprob = -0.25;
  a.compression_ratio = 0.8;
  a.no_speech_prob = 0.01;
  speech::TranscriptSegment b = a;
  b.id = 1;
  b.start = 3600.25;
  b.end = 3661.5;
  b.text = " General Kenobi.";
  t.segments = {a, b};
  return t;
}

TEST(TranscriptionForm, ReadsOpenAIFieldsAndExtensions) {
  const std::string audio = "RIFF....";
  const auto r = ParseTranscriptionForm(
      {Part("file", audio, "a.wav"), Part("model", "whisper"), Part("language", "de"), Part("prompt", "Names: Ada."),
       Part("response_format", "verbose_json"), Part("temperature", "0.4"),
       Part("timestamp_granularities[]", "segment"), Part("temperature_increment_on_fallback", "0"),
       Part("compression_ratio_threshold", "none"), Part("logprob_threshold", "-2.5"),
       Part("condition_on_previous_text", "false"), Part("max_tokens_per_window", "32"), Part("ignore_eot", "true"),
       Part("without_timestamps", "true"), Part("seed", "7")},
      true, 1000);
  EXPECT_EQ(r.model, "whisper");
  EXPECT_EQ(r.file, audio);
  EXPECT_EQ(r.filename, "a.wav");
  EXPECT_EQ(r.format, TranscriptFormat::kVerboseJson);
  EXPECT_TRUE(r.segment_timestamps);
  EXPECT_TRUE(r.options.translate);
  EXPECT_EQ(r.options.language, "de");
  EXPECT_EQ(r.options.initial_prompt, "Names: Ada.");
  EXPECT_FLOAT_EQ(r.options.temperature, 0.4f);
  EXPECT_EQ(r.options.temperature_increment, 0.0f);
  EXPECT_FALSE(r.options.compression_ratio_threshold.has_value());
  EXPECT_FLOAT_EQ(*r.options.logprob_threshold, -2.5f);
  EXPECT_FALSE(r.options.condition_on_previous_text);
  EXPECT_EQ(r.options.max_tokens_per_window, 32);
  EXPECT_TRUE(r.options.ignore_eot);
  EXPECT_TRUE(r.options.without_timestamps);
  EXPECT_EQ(*r.options.seed, 7u);
}

TEST(TranscriptionForm, RefusesWhatItCannotDo) {
  const std::string audio = "x";
  const auto file = Part("file", audio);
  const auto model = Part("model", "m");
  EXPECT_EQ(CodeOf({model}), ErrorCode::kInvalidArgument);                     // no file
  EXPECT_EQ(CodeOf({file}), ErrorCode::kInvalidArgument);                      // no model
  EXPECT_EQ(CodeOf({Part("file", ""), model}), ErrorCode::kInvalidArgument);   // empty file
  EXPECT_EQ(CodeOf({file, model, Part("response_format", "xml")}), ErrorCode::kInvalidArgument);
  EXPECT_EQ(CodeOf({file, model, Part("temperature", "warm")}), ErrorCode::kInvalidArgument);
  EXPECT_EQ(CodeOf({file, model, Part("temperature", "nan")}), ErrorCode::kInvalidArgument);
  EXPECT_EQ(CodeOf({file, model, Part("timestamp_granularities[]", "word"), Part("response_format", "verbose_json")}),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(CodeOf({file, model, Part("timestamp_granularities[]", "segment")}), ErrorCode::kInvalidArgument);
  EXPECT_EQ(CodeOf({file, model, Part("stream", "true"), Part("response_format", "srt")}), ErrorCode::kInvalidArgument);
  EXPECT_EQ(CodeOf({file, model, Part("beam_size", "5")}), ErrorCode::kInvalidArgument);
  EXPECT_EQ(CodeOf({file, model, Part("mystery", "1")}), ErrorCode::kInvalidArgument);
  EXPECT_EQ(CodeOf({file, file, model}), ErrorCode::kInvalidArgument);
  const std::string big(1001, 'a');
  EXPECT_EQ(CodeOf({Part("file", big), model}), ErrorCode::kTooLarge);
  EXPECT_EQ(CodeOf({file, model, Part("stream", "true")}), ErrorCode::kInternal);  // json + stream is fine
}

TEST(TranscriptFormats, JsonTextAndVerboseJson) {
  const auto t = TwoSegments();
  const auto json_body = FormatTranscript(t, TranscriptFormat::kJson, false);
  EXPECT_EQ(json_body.content_type, "application/json");
  const auto j = nlohmann::json::parse(json_body.body);
  EXPECT_EQ(j["text"], t.text);
  EXPECT_EQ(j["usage"]["type"], "duration");
  EXPECT_EQ(j["usage"]["seconds"], 3662);

  EXPECT_EQ(FormatTranscript(t, TranscriptFormat::kText, false).body, t.text + "\n");

  const auto v = nlohmann::json::parse(FormatTranscript(t, TranscriptFormat::kVerboseJson, true).body);
  EXPECT_EQ(v["task"], "translate");
  EXPECT_EQ(v["language"], "english");
  EXPECT_DOUBLE_EQ(v["duration"].get<double>(), 3661.5);
  ASSERT_EQ(v["segments"].size(), 2u);
  const auto& s = v["segments"][1];
  for (const char* field : {"id", "seek", "start", "end", "text", "tokens", "temperature", "avg_logprob",
                            "compression_ratio", "no_speech_prob"}) {
    EXPECT_TRUE(s.contains(field)) << field;
  }
  EXPECT_EQ(s["id"], 1);
  EXPECT_DOUBLE_EQ(s["start"].get<double>(), 3600.25);
  EXPECT_EQ(s["tokens"].size(), 5u);
}

TEST(TranscriptFormats, Subtitles) {
  const auto t = TwoSegments();
  EXPECT_EQ(FormatTranscript(t, TranscriptFormat::kSrt, false).body,
            "1\n00:00:00,000 --> 00:00:01,500\nHello there.\n\n"
            "2\n01:00:00,250 --> 01:01:01,500\nGeneral Kenobi.\n\n");
  EXPECT_EQ(FormatTranscript(t, TranscriptFormat::kVtt, false).body,
            "WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nHello there.\n\n"
            "01:00:00.250 --> 01:01:01.500\nGeneral Kenobi.\n\n");
  EXPECT_EQ(SubtitleTime(59.9996, ','), "00:01:00,000");
}

TEST(TranscriptFormats, StreamEvents) {
  const auto t = TwoSegments();
  const std::string delta = TranscriptDeltaEvent(" Hello");
  ASSERT_EQ(delta.rfind("data: ", 0), 0u);
  const auto d = nlohmann::json::parse(delta.substr(6));
  EXPECT_EQ(d["type"], "transcript.text.delta");
  EXPECT_EQ(d["delta"], " Hello");
  const auto done = nlohmann::json::parse(TranscriptDoneEvent(t).substr(6));
  EXPECT_EQ(done["type"], "transcript.text.done");
  EXPECT_EQ(done["text"], t.text);
}

}  // namespace
}  // namespace mms::api::openai
