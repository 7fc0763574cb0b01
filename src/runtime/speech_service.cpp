#include "runtime/speech_service.h"

#include <future>

#include "base/error.h"
#include "layers/workspace.h"
#include "text/hf_tokenizer.h"

namespace mms::runtime {

namespace {

using Clock = std::chrono::steady_clock;

// Collects one decoding's tokens and log-probabilities; the caller waits for the finish.
class CollectingSink final : public generation::TokenSink {
 public:
  generation::SinkVerdict OnToken(const generation::SampledToken& token) override {
    out_.tokens.push_back(token.token);
    out_.logprobs.push_back(token.logprob);
    return generation::SinkVerdict::kContinue;
  }
  void OnFinish(generation::FinishReason reason, const std::string& error) override {
    if (reason == generation::FinishReason::kError) {
      done_.set_exception(std::make_exception_ptr(Error(ErrorCode::kInternal, "decoder: " + error)));
    } else if (reason == generation::FinishReason::kCancelled) {
      done_.set_exception(std::make_exception_ptr(Error(ErrorCode::kUnavailable, "decoder: cancelled (shutting down)")));
    } else {
      done_.set_value(std::move(out_));
    }
  }
  std::future<speech::SpeechBackend::DecodeOutput> future() { return done_.get_future(); }

 private:
  speech::SpeechBackend::DecodeOutput out_;
  std::promise<speech::SpeechBackend::DecodeOutput> done_;
};

}  // namespace

class SpeechService::Backend final : public speech::SpeechBackend {
 public:
  explicit Backend(SpeechService& s) : s_(s) {}

  std::shared_ptr<models::SpeechDecoderState> EncodeWindow(std::vector<float> mel) override {
    return s_.batcher_->Submit(std::move(mel)).get();
  }

  DecodeOutput Decode(DecodeRequest r) override {
    generation::GenerationRequest g;
    g.prompt = std::move(r.prompt);
    g.sampling.temperature = r.temperature;
    g.sampling.seed = r.seed;
    g.sampling.logprobs = true;  // the average log-probability decides the fallback
    g.constraint = std::move(r.filter);
    g.max_tokens = r.max_tokens;
    g.stop_token_ids = {r.eot};
    g.ignore_eos = r.ignore_eot;
    g.final_token_past_context = true;
    g.prefix_salt = r.prefix_salt;
    g.sequence_state = std::move(r.state);
    auto sink = std::make_shared<CollectingSink>();
    auto done = sink->future();
    s_.submit_(std::move(g), sink);
    return done.get();
  }

 private:
  SpeechService& s_;
};

SpeechService::SpeechService(std::string name, const models::SpeechEncoder& encoder,
                             std::shared_ptr<const speech::WhisperVocabulary> vocabulary,
                             const text::HfTokenizer& tokenizer, int text_context, BatcherConfig batcher,
                             speech::TranscriptionOptions defaults, SubmitFn submit, CancelFn cancel)
    : name_(std::move(name)),
      encoder_(encoder),
      vocabulary_(std::move(vocabulary)),
      tokenizer_(tokenizer),
      text_context_(text_context),
      defaults_(std::move(defaults)),
      mel_(encoder.n_mels()),
      submit_(std::move(submit)),
      cancel_(std::move(cancel)) {
  if (encoder.window_frames() != media::kWhisperWindowFrames) {
    ThrowInvalidModel(name_ + ": the audio encoder takes windows of " + std::to_string(encoder.window_frames()) +
                      " mel frames; only 3000 (30 s) is supported");
  }
  auto workspace = std::make_shared<Workspace>();
  const models::SpeechEncoder* enc = &encoder_;
  batcher_ = std::make_unique<WindowBatcher>(
      name_ + " audio encoder", batcher,
      [enc, workspace](std::vector<std::vector<float>>& windows, int) {
        const size_t per_window = static_cast<size_t>(enc->n_mels()) * enc->window_frames();
        const int64_t n = static_cast<int64_t>(windows.size());
        std::vector<float> mel(per_window * windows.size());
        for (size_t i = 0; i < windows.size(); ++i) {
          if (windows[i].size() != per_window) ThrowInternal("audio window of the wrong size");
          std::copy(windows[i].begin(), windows[i].end(), mel.begin() + static_cast<std::ptrdiff_t>(i * per_window));
        }
        const size_t per_features = static_cast<size_t>(enc->audio_positions() * enc->feature_size());
        std::vector<float> features(per_features * windows.size());
        enc->EncodeWindows(mel.data(), n, features.data(), *workspace);
        std::vector<std::shared_ptr<models::SpeechDecoderState>> states;
        for (int64_t i = 0; i < n; ++i) states.push_back(enc->DecoderState(features.data() + i * per_features));
        return states;
      });
}

SpeechService::~SpeechService() { Shutdown(std::chrono::milliseconds(0)); }

speech::Transcript SpeechService::Transcribe(std::span<const float> samples, const speech::TranscriptionOptions& options,
                                             const speech::SegmentCallback& on_segments, double file_decode_seconds) {
  Backend backend(*this);
  speech::SpeechContext ctx;
  ctx.vocabulary = vocabulary_;
  ctx.tokenizer = &tokenizer_;
  ctx.mel = &mel_;
  ctx.text_context = text_context_;
  const auto start = Clock::now();
  speech::Transcript t = speech::Transcribe(samples, options, ctx, backend, on_segments);
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  std::lock_guard<std::mutex> lock(stats_mutex_);
  ++stats_.requests;
  stats_.audio_seconds += t.duration;
  stats_.processing_seconds += wall;
  stats_.file_decode_seconds += file_decode_seconds;
  stats_.mel_seconds += t.stats.mel_seconds;
  stats_.encode_seconds += t.stats.encode_seconds;
  stats_.decode_seconds += t.stats.decode_seconds;
  stats_.windows += static_cast<uint64_t>(t.stats.windows);
  stats_.decode_attempts += static_cast<uint64_t>(t.stats.decode_attempts);
  stats_.fallbacks += static_cast<uint64_t>(t.stats.fallbacks);
  return t;
}

speech::WindowDecoding SpeechService::DecodeWindow(std::vector<float> mel_window,
                                                   const speech::TranscriptionOptions& options) {
  Backend backend(*this);
  speech::SpeechContext ctx;
  ctx.vocabulary = vocabulary_;
  ctx.tokenizer = &tokenizer_;
  ctx.mel = &mel_;
  ctx.text_context = text_context_;
  return speech::DecodeWindow(std::move(mel_window), options, ctx, backend);
}

void SpeechService::Probe(std::chrono::milliseconds deadline) {
  auto state = batcher_->Submit(std::vector<float>(static_cast<size_t>(encoder_.n_mels()) * encoder_.window_frames(), 0.0f),
                                std::chrono::duration_cast<std::chrono::microseconds>(deadline))
                   .get();
  generation::GenerationRequest g;
  g.prompt = {vocabulary_->sot};
  g.sampling.temperature = 0;
  g.max_tokens = 1;
  g.ignore_eos = true;
  g.sequence_state = std::move(state);
  auto sink = std::make_shared<CollectingSink>();
  auto done = sink->future();
  const uint64_t id = submit_(std::move(g), sink);
  if (done.wait_for(deadline) != std::future_status::ready) {
    cancel_(id);
    throw Error(ErrorCode::kTimeout, "decoder: no answer within " + std::to_string(deadline.count()) + " ms");
  }
  done.get();
}

SpeechStats SpeechService::Stats() const {
  SpeechStats s;
  {
    std::lock_guard<std::mutex> lock(stats_mutex_);
    s = stats_;
  }
  s.encoder = batcher_->Stats();
  return s;
}

void SpeechService::Shutdown(std::chrono::milliseconds deadline) {
  if (batcher_) batcher_->Shutdown(deadline);
}

}  // namespace mms::runtime
