#include "api/transcription_format.h"

#include <charconv>
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "api/openai_codec.h"
#include "base/error.h"

namespace mms::api::openai {

namespace {

using nlohmann::json;

std::string Value(const MultipartPart& p) { return std::string(p.content); }

float FloatField(const MultipartPart& p) {
  const std::string v = Value(p);
  float x = 0;
  const auto r = std::from_chars(v.data(), v.data() + v.size(), x);
  if (v.empty() || r.ec != std::errc() || r.ptr != v.data() + v.size() || !std::isfinite(x)) {
    ThrowInvalidArgument("form field \"" + p.name + "\" must be a number, got \"" + v.substr(0, 40) + "\"");
  }
  return x;
}

int IntField(const MultipartPart& p) {
  const std::string v = Value(p);
  int x = 0;
  const auto r = std::from_chars(v.data(), v.data() + v.size(), x);
  if (v.empty() || r.ec != std::errc() || r.ptr != v.data() + v.size()) {
    ThrowInvalidArgument("form field \"" + p.name + "\" must be an integer, got \"" + v.substr(0, 40) + "\"");
  }
  return x;
}

bool BoolField(const MultipartPart& p) {
  const std::string v = Value(p);
  if (v == "true" || v == "1" || v == "True") return true;
  if (v == "false" || v == "0" || v == "False") return false;
  ThrowInvalidArgument("form field \"" + p.name + "\" must be true or false, got \"" + v.substr(0, 40) + "\"");
}

// A threshold that "none" turns off.
std::optional<float> OptionalFloatField(const MultipartPart& p) {
  if (p.content == "none" || p.content == "null") return std::nullopt;
  return FloatField(p);
}

json SegmentJson(const speech::TranscriptSegment& s) {
  return {{"id", s.id},
          {"seek", s.seek},
          {"start", s.start},
          {"end", s.end},
          {"text", s.text},
          {"tokens", s.tokens},
          {"temperature", s.temperature},
          {"avg_logprob", s.avg_logprob},
          {"compression_ratio", s.compression_ratio},
          {"no_speech_prob", std::isfinite(s.no_speech_prob) ? json(s.no_speech_prob) : json(nullptr)}};
}

// OpenAI bills whisper-1 by the second: usage reports the duration, rounded up.
json UsageJson(const speech::Transcript& t) {
  return {{"type", "duration"}, {"seconds", static_cast<int64_t>(std::ceil(t.duration))}};
}

std::string Trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

}  // namespace

TranscriptionApiRequest ParseTranscriptionForm(const std::vector<MultipartPart>& parts, bool translate,
                                               size_t max_file_bytes, const speech::TranscriptionOptions& defaults) {
  TranscriptionApiRequest r;
  r.options = defaults;
  r.options.translate = translate;
  bool have_file = false, have_model = false;
  for (const MultipartPart& p : parts) {
    const std::string& n = p.name;
    if (n == "file") {
      if (have_file) ThrowInvalidArgument("form field \"file\" is given twice; send one audio file");
      have_file = true;
      if (p.content.size() > max_file_bytes) {
        throw Error(ErrorCode::kTooLarge, "the audio file is " + std::to_string(p.content.size()) +
                                              " bytes; the limit is " + std::to_string(max_file_bytes) + " bytes");
      }
      r.file = p.content;
      r.filename = p.filename;
    } else if (n == "model") {
      have_model = true;
      r.model = Value(p);
    } else if (n == "language") {
      r.options.language = Value(p);
    } else if (n == "prompt") {
      r.options.initial_prompt = Value(p);
      if (r.options.initial_prompt.size() > 16384) ThrowInvalidArgument("form field \"prompt\" is longer than 16384 bytes");
    } else if (n == "response_format") {
      const std::string v = Value(p);
      if (v == "json") r.format = TranscriptFormat::kJson;
      else if (v == "text") r.format = TranscriptFormat::kText;
      else if (v == "srt") r.format = TranscriptFormat::kSrt;
      else if (v == "vtt") r.format = TranscriptFormat::kVtt;
      else if (v == "verbose_json") r.format = TranscriptFormat::kVerboseJson;
      else {
        ThrowInvalidArgument("form field \"response_format\" is \"" + v.substr(0, 40) +
                             "\"; use json, text, srt, vtt or verbose_json");
      }
    } else if (n == "temperature") {
      r.options.temperature = FloatField(p);
    } else if (n == "timestamp_granularities[]" || n == "timestamp_granularities") {
      const std::string v = Value(p);
      if (v == "segment") {
        r.segment_timestamps = true;
      } else if (v == "word") {
        ThrowInvalidArgument("timestamp_granularities \"word\" is not supported by this server (word timestamps "
                             "are not built); use \"segment\"");
      } else {
        ThrowInvalidArgument("form field \"timestamp_granularities[]\" is \"" + v.substr(0, 40) +
                             "\"; use \"segment\"");
      }
    } else if (n == "stream") {
      r.stream = BoolField(p);
    } else if (n == "beam_size") {
      const int b = IntField(p);
      if (b != 1) ThrowInvalidArgument("form field \"beam_size\": only 1 (greedy or sampled decoding) is supported; beam search is not built");
    } else if (n == "temperature_increment_on_fallback") {
      r.options.temperature_increment = FloatField(p);
    } else if (n == "compression_ratio_threshold") {
      r.options.compression_ratio_threshold = OptionalFloatField(p);
    } else if (n == "logprob_threshold") {
      r.options.logprob_threshold = OptionalFloatField(p);
    } else if (n == "no_speech_threshold") {
      r.options.no_speech_threshold = OptionalFloatField(p);
    } else if (n == "condition_on_previous_text") {
      r.options.condition_on_previous_text = BoolField(p);
    } else if (n == "without_timestamps") {
      r.options.without_timestamps = BoolField(p);
    } else if (n == "max_tokens_per_window") {
      r.options.max_tokens_per_window = IntField(p);
    } else if (n == "ignore_eot") {
      r.options.ignore_eot = BoolField(p);
    } else if (n == "seed") {
      const std::string v = Value(p);
      uint64_t seed = 0;
      const auto res = std::from_chars(v.data(), v.data() + v.size(), seed);
      if (v.empty() || res.ec != std::errc() || res.ptr != v.data() + v.size()) {
        ThrowInvalidArgument("form field \"seed\" must be a non-negative integer");
      }
      r.options.seed = seed;
    } else if (n == "chunking_strategy" || n == "include[]" || n == "user") {
      // accepted and ignored: OpenAI's options for other models
    } else {
      ThrowInvalidArgument("unknown form field \"" + n.substr(0, 60) + "\"");
    }
  }
  if (!have_file) ThrowInvalidArgument("form field \"file\" is missing: send the audio file as multipart/form-data");
  if (!have_model || r.model.empty()) ThrowInvalidArgument("form field \"model\" is missing");
  if (r.file.empty()) ThrowInvalidArgument("the audio file is empty");
  if (r.stream && r.format != TranscriptFormat::kJson && r.format != TranscriptFormat::kText) {
    ThrowInvalidArgument("stream=true works with response_format json or text");
  }
  if (r.segment_timestamps && r.format != TranscriptFormat::kVerboseJson) {
    ThrowInvalidArgument("timestamp_granularities needs response_format verbose_json");
  }
  return r;
}

std::string SubtitleTime(double seconds, char sep) {
  const int64_t ms = static_cast<int64_t>(std::llround(std::max(0.0, seconds) * 1000.0));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld%c%03lld", static_cast<long long>(ms / 3600000),
                static_cast<long long>(ms / 60000 % 60), static_cast<long long>(ms / 1000 % 60), sep,
                static_cast<long long>(ms % 1000));
  return buf;
}

TranscriptBody FormatTranscript(const speech::Transcript& t, TranscriptFormat format, bool translate) {
  switch (format) {
    case TranscriptFormat::kJson:
      return {json{{"text", t.text}, {"usage", UsageJson(t)}}.dump(-1, ' ', false, json::error_handler_t::replace),
              "application/json"};
    case TranscriptFormat::kText:
      return {t.text + "\n", "text/plain; charset=utf-8"};
    case TranscriptFormat::kVerboseJson: {
      json segments = json::array();
      for (const auto& s : t.segments) segments.push_back(SegmentJson(s));
      json j = {{"task", translate ? "translate" : "transcribe"},
                {"language", t.language},
                {"duration", t.duration},
                {"text", t.text},
                {"segments", std::move(segments)},
                {"usage", UsageJson(t)}};
      return {j.dump(-1, ' ', false, json::error_handler_t::replace), "application/json"};
    }
    case TranscriptFormat::kSrt:
    case TranscriptFormat::kVtt: {
      const bool srt = format == TranscriptFormat::kSrt;
      std::string out = srt ? "" : "WEBVTT\n\n";
      int index = 1;
      for (const auto& s : t.segments) {
        const std::string text = Trim(s.text);
        if (text.empty()) continue;
        if (srt) out += std::to_string(index++) + "\n";
        out += SubtitleTime(s.start, srt ? ',' : '.') + " --> " + SubtitleTime(s.end, srt ? ',' : '.') + "\n";
        out += text + "\n\n";
      }
      return {out, srt ? "application/x-subrip; charset=utf-8" : "text/vtt; charset=utf-8"};
    }
  }
  ThrowInternal("unknown transcript format");
}

std::string TranscriptDeltaEvent(std::string_view delta) {
  const json j = {{"type", "transcript.text.delta"}, {"delta", std::string(delta)}};
  return "data: " + j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
}

std::string TranscriptDoneEvent(const speech::Transcript& t) {
  const json j = {{"type", "transcript.text.done"}, {"text", t.text}, {"usage", UsageJson(t)}};
  return "data: " + j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
}

std::string TranscriptErrorEvent(int http_status, const std::string& message) {
  return "data: " + ErrorBody(http_status, message) + "\n\n";
}

}  // namespace mms::api::openai
