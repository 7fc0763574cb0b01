#include "speech/transcriber.h"

#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <random>

#include "base/error.h"
#include "media/log_mel.h"
#include "speech/whisper_logit_filter.h"
#include "text/hf_tokenizer.h"

namespace mms::speech {

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kWindowFrames = media::kWhisperWindowFrames;  // 3000 frames = 30 s
constexpr int kInputStride = 2;                              // mel frames per encoder position
constexpr double kFrameSeconds = static_cast<double>(media::kWhisperHop) / 16000.0;
constexpr double kTimePrecision = kInputStride * kFrameSeconds;  // 0.02 s per timestamp step

double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Columns [first, first + size) of the whole-file mel, zeros after them up to 3000 frames
// (OpenAI pads the sliced mel with zeros, not with the mel of silence).
std::vector<float> SliceWindow(const std::vector<float>& mel, int n_mels, int64_t frames, int64_t first, int64_t size) {
  std::vector<float> w(static_cast<size_t>(n_mels) * kWindowFrames, 0.0f);
  size = std::clamp<int64_t>(std::min<int64_t>(size, frames - first), 0, kWindowFrames);
  for (int m = 0; m < n_mels; ++m) {
    const float* src = mel.data() + static_cast<size_t>(m) * frames + first;
    std::copy(src, src + size, w.data() + static_cast<size_t>(m) * kWindowFrames);
  }
  return w;
}

// A salt no other window shares, so the scheduler's prefix cache never hands one window's
// prompt blocks (computed against its audio) to another.
uint64_t NewWindowSalt() {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t base = std::random_device{}() * 0x9E3779B97F4A7C15ull;
  return (base ^ (++counter * 0xD1B54A32D192ED03ull)) | 1;
}

struct WindowResult {
  std::vector<int32_t> tokens;  // sampled, end-of-text and after removed
  std::string text;             // decoded without timestamps, trimmed
  double sum_logprob = 0;
  double avg_logprob = 0;
  double compression_ratio = 0;
  double no_speech_prob = NAN;
  float temperature = 0;
};

std::string Trim(const std::string& s) {
  const auto is_space = [](unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  size_t b = 0, e = s.size();
  while (b < e && is_space(s[b])) ++b;
  while (e > b && is_space(s[e - 1])) --e;
  return s.substr(b, e - b);
}

// OpenAI's tokenizer.decode: timestamps dropped, other special tokens kept as text.
std::string DecodeText(const text::HfTokenizer& tokenizer, const std::vector<int32_t>& tokens, int32_t below) {
  std::vector<int32_t> kept;
  kept.reserve(tokens.size());
  for (int32_t t : tokens) {
    if (t < below) kept.push_back(t);
  }
  return tokenizer.Decode(kept, false);
}

// A user's prompt as plain text: "<|endoftext|>" typed in it is those characters, never
// the control token (which would let a prompt steer the decoder's task or end it).
std::vector<int32_t> EncodeLiteral(const text::HfTokenizer& tokenizer, const std::string& text) {
  const std::pair<size_t, size_t> all{0, text.size()};
  return tokenizer.EncodeWithLiteralRanges(text, std::span(&all, 1), false);
}

class Run {
 public:
  Run(const TranscriptionOptions& o, const SpeechContext& c, SpeechBackend& b) : opt_(o), ctx_(c), backend_(b), v_(*c.vocabulary) {}

  Transcript Go(std::span<const float> samples, const SegmentCallback& on_segments);
  WindowDecoding One(std::vector<float> mel_window);

 private:
  const WhisperLanguage* ResolveLanguage(const std::vector<float>& mel, int64_t frames);
  WindowResult DecodeWindow(const std::shared_ptr<models::SpeechDecoderState>& state, const std::vector<int32_t>& previous,
                            const WhisperLanguage* language, float temperature, uint64_t salt);
  WindowResult DecodeWithFallback(const std::shared_ptr<models::SpeechDecoderState>& state,
                                  const std::vector<int32_t>& previous, const WhisperLanguage* language, uint64_t salt);

  const TranscriptionOptions& opt_;
  const SpeechContext& ctx_;
  SpeechBackend& backend_;
  const WhisperVocabulary& v_;
  TranscriptStats stats_;
  // The encoding of the first 30 s that language detection made: the first window of the
  // seek loop reads the same frames when the audio is 30 s or longer (and One's window
  // always), so it is taken from here instead of encoded again.
  std::shared_ptr<models::SpeechDecoderState> detection_state_;
};

const WhisperLanguage* Run::ResolveLanguage(const std::vector<float>& mel, int64_t frames) {
  if (!opt_.language.empty()) {
    if (!v_.multilingual()) {
      const std::string l = opt_.language;
      if (l == "en" || l == "english" || l == "English") return nullptr;
      ThrowInvalidArgument("language \"" + l + "\": this checkpoint is English-only");
    }
    const WhisperLanguage* found = v_.FindLanguage(opt_.language);
    if (!found) {
      ThrowInvalidArgument("language \"" + opt_.language +
                           "\" is not one this checkpoint knows (give an ISO-639-1 code such as \"en\", or a name)");
    }
    return found;
  }
  if (!v_.multilingual()) return nullptr;
  // Detection on the first 30 s of the padded file (OpenAI's detect_language): the only
  // token allowed after <|startoftranscript|> is a language.
  auto t = Clock::now();
  auto state = backend_.EncodeWindow(SliceWindow(mel, ctx_.mel->n_mels(), frames, 0, kWindowFrames));
  stats_.encode_seconds += Since(t);
  detection_state_ = state;
  SpeechBackend::DecodeRequest r;
  r.state = state;
  r.prompt = {v_.sot};
  r.filter = std::make_unique<LanguageTokenFilter>(ctx_.vocabulary);
  r.max_tokens = 1;
  r.eot = v_.eot;
  r.ignore_eot = true;
  r.prefix_salt = NewWindowSalt();
  t = Clock::now();
  const auto out = backend_.Decode(std::move(r));
  stats_.decode_seconds += Since(t);
  ++stats_.decode_attempts;
  if (out.tokens.empty()) ThrowInternal("language detection produced no token");
  const WhisperLanguage* language = v_.LanguageOfToken(out.tokens[0]);
  if (!language) ThrowInternal("language detection chose token " + std::to_string(out.tokens[0]) + ", not a language");
  return language;
}

WindowResult Run::DecodeWindow(const std::shared_ptr<models::SpeechDecoderState>& state,
                               const std::vector<int32_t>& previous, const WhisperLanguage* language, float temperature,
                               uint64_t salt) {
  std::vector<int32_t> prompt;
  if (!previous.empty()) {
    // <|startofprev|> and at most the last (context / 2 - 1) tokens of the previous text.
    const size_t keep = std::min(previous.size(), static_cast<size_t>(ctx_.text_context / 2 - 1));
    prompt.push_back(v_.sot_prev);
    prompt.insert(prompt.end(), previous.end() - static_cast<std::ptrdiff_t>(keep), previous.end());
  }
  const int32_t sot_index = static_cast<int32_t>(prompt.size());
  const auto sot = v_.SotSequence(language, opt_.translate, opt_.without_timestamps);
  prompt.insert(prompt.end(), sot.begin(), sot.end());
  state->sot_index = sot_index;
  state->no_speech_token = v_.no_speech;
  state->no_speech_prob.store(NAN);

  LogitFilterOptions f;
  f.timestamps = !opt_.without_timestamps;
  SpeechBackend::DecodeRequest r;
  r.state = state;
  r.filter = std::make_unique<WhisperLogitFilter>(ctx_.vocabulary, f);
  r.temperature = temperature;
  r.seed = opt_.seed;
  // The last token sampled is never run through the decoder, so it may lie one past the
  // context (OpenAI's loop stops once the tokens exceed it).
  r.max_tokens = std::min<int>(opt_.max_tokens_per_window, ctx_.text_context + 1 - static_cast<int>(prompt.size()));
  r.prompt = std::move(prompt);
  r.eot = v_.eot;
  r.ignore_eot = opt_.ignore_eot;
  r.prefix_salt = salt;
  const auto t = Clock::now();
  const SpeechBackend::DecodeOutput out = backend_.Decode(std::move(r));
  stats_.decode_seconds += Since(t);
  ++stats_.decode_attempts;
  stats_.tokens_decoded += static_cast<int64_t>(out.tokens.size());

  WindowResult w;
  w.temperature = temperature;
  size_t end = out.tokens.size();
  if (!opt_.ignore_eot) {
    end = std::find(out.tokens.begin(), out.tokens.end(), v_.eot) - out.tokens.begin();
  }
  // Every sampled token's log-probability counts, end-of-text's included; the average is
  // over the tokens plus one (OpenAI's sum_logprobs / (len(tokens) + 1)).
  const size_t counted = std::min(out.logprobs.size(), end + (end < out.tokens.size() ? 1 : 0));
  for (size_t i = 0; i < counted; ++i) w.sum_logprob += out.logprobs[i];
  w.tokens.assign(out.tokens.begin(), out.tokens.begin() + static_cast<std::ptrdiff_t>(end));
  if (opt_.ignore_eot) {
    w.tokens.erase(std::remove(w.tokens.begin(), w.tokens.end(), v_.eot), w.tokens.end());
  }
  w.avg_logprob = w.sum_logprob / static_cast<double>(w.tokens.size() + 1);
  w.text = Trim(DecodeText(*ctx_.tokenizer, w.tokens, v_.timestamp_begin));
  w.compression_ratio = CompressionRatio(w.text);
  w.no_speech_prob = state->no_speech_prob.load();
  return w;
}

WindowResult Run::DecodeWithFallback(const std::shared_ptr<models::SpeechDecoderState>& state,
                                     const std::vector<int32_t>& previous, const WhisperLanguage* language,
                                     uint64_t salt) {
  std::vector<float> temperatures = {opt_.temperature};
  if (opt_.temperature_increment > 0) {
    for (int i = 1;; ++i) {
      const double t = opt_.temperature + i * static_cast<double>(opt_.temperature_increment);
      if (t > 1.0 + 1e-6) break;
      temperatures.push_back(static_cast<float>(t));
    }
  }
  WindowResult result;
  for (size_t i = 0; i < temperatures.size(); ++i) {
    const float t = temperatures[i];
    if (i > 0) ++stats_.fallbacks;
    result = DecodeWindow(state, previous, language, t, salt);
    bool fallback = false;
    if (opt_.compression_ratio_threshold && result.compression_ratio > *opt_.compression_ratio_threshold) {
      fallback = true;  // too repetitive
    }
    if (opt_.logprob_threshold && result.avg_logprob < *opt_.logprob_threshold) fallback = true;  // too unlikely
    if (opt_.no_speech_threshold && result.no_speech_prob > *opt_.no_speech_threshold && opt_.logprob_threshold &&
        result.avg_logprob < *opt_.logprob_threshold) {
      fallback = false;  // silence: skipped by the caller, not decoded again
    }
    if (!fallback) break;
  }
  return result;
}

WindowDecoding Run::One(std::vector<float> mel_window) {
  const WhisperLanguage* language = ResolveLanguage(mel_window, kWindowFrames);
  std::vector<int32_t> previous;
  if (!opt_.initial_prompt.empty()) previous = EncodeLiteral(*ctx_.tokenizer, " " + Trim(opt_.initial_prompt));
  auto state = detection_state_ ? std::move(detection_state_) : backend_.EncodeWindow(std::move(mel_window));
  const WindowResult r = DecodeWindow(state, previous, language, opt_.temperature, NewWindowSalt());
  WindowDecoding d;
  d.tokens = r.tokens;
  d.text = r.text;
  d.language_code = language ? language->code : "en";
  d.avg_logprob = r.avg_logprob;
  d.no_speech_prob = r.no_speech_prob;
  d.compression_ratio = r.compression_ratio;
  d.temperature = r.temperature;
  return d;
}

Transcript Run::Go(std::span<const float> samples, const SegmentCallback& on_segments) {
  Transcript out;
  out.duration = static_cast<double>(samples.size()) / 16000.0;

  auto t = Clock::now();
  const media::LogMelSpectrogram::Mel mel = ctx_.mel->Compute(samples, media::kWhisperWindowSamples);
  stats_.mel_seconds = Since(t);
  const int n_mels = ctx_.mel->n_mels();
  const int64_t frames = mel.frames;
  const int64_t content_frames = frames - kWindowFrames;

  const WhisperLanguage* language = ResolveLanguage(mel.values, frames);
  out.language_code = language ? language->code : "en";
  out.language = language ? language->name : "english";
  if (opt_.translate && !v_.multilingual()) ThrowInvalidArgument("this checkpoint is English-only: it cannot translate");

  std::vector<int32_t> all_tokens;
  size_t prompt_reset_since = 0;
  std::vector<int32_t> initial_prompt_tokens;
  if (!opt_.initial_prompt.empty()) {
    initial_prompt_tokens = EncodeLiteral(*ctx_.tokenizer, " " + Trim(opt_.initial_prompt));
    all_tokens = initial_prompt_tokens;
  }

  int64_t seek = 0;
  while (seek < content_frames) {
    const double time_offset = static_cast<double>(seek) * kFrameSeconds;
    const int64_t segment_size = std::min<int64_t>(kWindowFrames, content_frames - seek);
    const double segment_duration = static_cast<double>(segment_size) * kFrameSeconds;

    std::shared_ptr<models::SpeechDecoderState> state;
    if (seek == 0 && segment_size == kWindowFrames && detection_state_) {
      state = std::move(detection_state_);  // frames 0..3000 of the same spectrogram
    } else {
      t = Clock::now();
      state = backend_.EncodeWindow(SliceWindow(mel.values, n_mels, frames, seek, segment_size));
      stats_.encode_seconds += Since(t);
    }
    detection_state_.reset();  // a shorter first window differs (zero-padded, not log-mel of silence)
    ++stats_.windows;
    const std::vector<int32_t> previous(all_tokens.begin() + static_cast<std::ptrdiff_t>(prompt_reset_since), all_tokens.end());
    const WindowResult result = DecodeWithFallback(state, previous, language, NewWindowSalt());

    if (opt_.no_speech_threshold && result.no_speech_prob > *opt_.no_speech_threshold &&
        !(opt_.logprob_threshold && result.avg_logprob > *opt_.logprob_threshold)) {
      seek += segment_size;  // silence: nothing from this window
      continue;
    }

    const int64_t previous_seek = seek;
    std::vector<TranscriptSegment> current;
    const auto& tokens = result.tokens;
    const int32_t tb = v_.timestamp_begin;
    const auto is_ts = [&](size_t i) { return tokens[i] >= tb; };
    const auto add = [&](double start, double end, std::vector<int32_t> seg_tokens) {
      TranscriptSegment s;
      s.seek = seek;
      s.start = start;
      s.end = end;
      s.text = DecodeText(*ctx_.tokenizer, seg_tokens, v_.eot);
      s.tokens = std::move(seg_tokens);
      s.temperature = result.temperature;
      s.avg_logprob = result.avg_logprob;
      s.compression_ratio = result.compression_ratio;
      s.no_speech_prob = result.no_speech_prob;
      current.push_back(std::move(s));
    };
    const size_t n = tokens.size();
    const bool single_timestamp_ending = n >= 2 && !is_ts(n - 2) && is_ts(n - 1);
    std::vector<size_t> slices;  // where two timestamps in a row close one segment and open the next
    for (size_t i = 1; i < n; ++i) {
      if (is_ts(i - 1) && is_ts(i)) slices.push_back(i);
    }
    if (!slices.empty()) {
      if (single_timestamp_ending) slices.push_back(n);
      size_t last_slice = 0;
      for (size_t cut : slices) {
        std::vector<int32_t> piece(tokens.begin() + static_cast<std::ptrdiff_t>(last_slice),
                                   tokens.begin() + static_cast<std::ptrdiff_t>(cut));
        const double start = time_offset + (piece.front() - tb) * kTimePrecision;
        const double end = time_offset + (piece.back() - tb) * kTimePrecision;
        add(start, end, std::move(piece));
        last_slice = cut;
      }
      if (single_timestamp_ending) {
        seek += segment_size;  // nothing spoken after the last timestamp
      } else {
        // The last segment is unfinished: the next window starts where the last complete one ended.
        seek += static_cast<int64_t>(tokens[last_slice - 1] - tb) * kInputStride;
      }
    } else {
      double duration = segment_duration;
      int32_t last_ts = -1;
      for (int32_t tok : tokens) {
        if (tok >= tb) last_ts = tok;
      }
      if (last_ts >= 0 && last_ts != tb) duration = (last_ts - tb) * kTimePrecision;
      add(time_offset, time_offset + duration, tokens);
      seek += segment_size;
    }
    // A window must move the seek forward, whatever its tokens say (the timestamp rules
    // make this hold; this guards against a model that breaks them).
    if (seek <= previous_seek) seek = previous_seek + segment_size;

    for (auto& s : current) {
      if (s.start == s.end || Trim(s.text).empty()) {
        s.text.clear();
        s.tokens.clear();
      }
    }
    const size_t first_new = out.segments.size();
    for (auto& s : current) {
      s.id = static_cast<int>(out.segments.size());
      all_tokens.insert(all_tokens.end(), s.tokens.begin(), s.tokens.end());
      out.segments.push_back(std::move(s));
    }
    if (!opt_.condition_on_previous_text || result.temperature > 0.5f) prompt_reset_since = all_tokens.size();
    if (on_segments && out.segments.size() > first_new) {
      on_segments(std::span<const TranscriptSegment>(out.segments.data() + first_new, out.segments.size() - first_new));
    }
  }
  const std::vector<int32_t> spoken(all_tokens.begin() + static_cast<std::ptrdiff_t>(initial_prompt_tokens.size()),
                                    all_tokens.end());
  out.text = DecodeText(*ctx_.tokenizer, spoken, v_.timestamp_begin);
  out.stats = stats_;
  return out;
}

}  // namespace

WindowDecoding DecodeWindow(std::vector<float> mel_window, const TranscriptionOptions& options,
                            const SpeechContext& context, SpeechBackend& backend) {
  if (mel_window.size() != static_cast<size_t>(context.mel->n_mels()) * kWindowFrames) {
    ThrowInvalidArgument("a window must be [n_mels, 3000] mel frames");
  }
  Run run(options, context, backend);
  return run.One(std::move(mel_window));
}

double CompressionRatio(const std::string& text) {
  uLongf bound = compressBound(static_cast<uLong>(text.size()));
  std::vector<Bytef> buffer(bound);
  // zlib's default level, as Python's zlib.compress uses.
  if (compress2(buffer.data(), &bound, reinterpret_cast<const Bytef*>(text.data()), static_cast<uLong>(text.size()),
                Z_DEFAULT_COMPRESSION) != Z_OK) {
    ThrowInternal("zlib could not compress a transcript");
  }
  return static_cast<double>(text.size()) / static_cast<double>(bound);
}

Transcript Transcribe(std::span<const float> samples, const TranscriptionOptions& options, const SpeechContext& context,
                      SpeechBackend& backend, const SegmentCallback& on_segments) {
  const auto check = [](bool ok, const std::string& what) {
    if (!ok) ThrowInvalidArgument(what);
  };
  check(std::isfinite(options.temperature) && options.temperature >= 0 && options.temperature <= 1,
        "temperature must be within [0, 1]");
  check(std::isfinite(options.temperature_increment) && options.temperature_increment >= 0 &&
            options.temperature_increment <= 1,
        "temperature_increment_on_fallback must be within [0, 1]");
  check(options.max_tokens_per_window >= 1 && options.max_tokens_per_window <= context.text_context / 2,
        "max_tokens_per_window must be within [1, " + std::to_string(context.text_context / 2) + "]");
  for (const auto& [value, name] : {std::pair{options.compression_ratio_threshold, "compression_ratio_threshold"},
                                    std::pair{options.logprob_threshold, "logprob_threshold"},
                                    std::pair{options.no_speech_threshold, "no_speech_threshold"}}) {
    check(!value || std::isfinite(*value), std::string(name) + " must be a finite number");
  }
  if (samples.empty()) ThrowInvalidArgument("the audio file holds no samples");
  Run run(options, context, backend);
  return run.Go(samples, on_segments);
}

}  // namespace mms::speech
