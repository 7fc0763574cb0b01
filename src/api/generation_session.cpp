#include "api/generation_session.h"

#include <algorithm>

#include "base/error.h"
#include "generation/json_constraint.h"
#include "generation/stop_matcher.h"
#include "text/hf_incremental_detokenizer.h"
#include "text/hf_tokenizer.h"

namespace mms::api {

using generation::FinishReason;
using generation::SinkVerdict;

struct GenerationSession::Choice {
  int index = 0;
  std::vector<int32_t> eos_ids;  // empty when ignore_eos
  std::unique_ptr<text::IncrementalDetokenizer> detokenizer;
  std::unique_ptr<generation::StopMatcher> stops;
  const text::HfTokenizer* tokenizer = nullptr;
  bool want_logprobs = false;
  bool stopped = false;  // a stop string matched: nothing more is shown
  // Collected (not streaming), or counted (streaming).
  std::string text;
  std::vector<TokenLogprobOut> logprobs;
  int completion_tokens = 0;
  std::string finish_reason;
  bool finished = false;
};

namespace {

// Adapts a choice to the engine's TokenSink.
class ChoiceSink final : public generation::TokenSink {
 public:
  ChoiceSink(std::shared_ptr<GenerationSession> session, GenerationSession::Choice* choice)
      : session_(std::move(session)), choice_(choice) {}

  SinkVerdict OnToken(const generation::SampledToken& token) override {
    auto& c = *choice_;
    ++c.completion_tokens;
    if (c.stopped) return SinkVerdict::kStop;
    const bool is_eos = std::find(c.eos_ids.begin(), c.eos_ids.end(), token.token) != c.eos_ids.end();
    std::string delta;
    if (!is_eos) delta = c.detokenizer->Push(token.token);
    std::vector<TokenLogprobOut> logprobs;
    if (c.want_logprobs) {
      TokenLogprobOut lp;
      lp.id = token.token;
      const int32_t one[] = {token.token};
      lp.token = c.tokenizer->Decode(one, false);
      lp.logprob = token.logprob;
      for (const auto& alt : token.top) {
        const int32_t id[] = {alt.token};
        lp.top.emplace_back(c.tokenizer->Decode(id, false), alt.logprob);
      }
      logprobs.push_back(std::move(lp));
    }
    std::string shown;
    bool matched = false;
    if (!delta.empty()) {
      auto r = c.stops->Push(delta);
      shown = std::move(r.emit);
      matched = r.stopped;
    }
    if (!shown.empty() || !logprobs.empty()) session_->OnDelta(c, std::move(shown), std::move(logprobs));
    if (matched) {
      c.stopped = true;
      return SinkVerdict::kStop;
    }
    return SinkVerdict::kContinue;
  }

  void OnFinish(FinishReason reason, const std::string& error) override {
    auto& c = *choice_;
    if (!c.stopped && reason != FinishReason::kError && reason != FinishReason::kCancelled) {
      // What the detokenizer and the stop matcher still hold is final now.
      std::string rest = c.detokenizer->Flush();
      std::string shown;
      if (!rest.empty()) {
        auto r = c.stops->Push(rest);
        shown = std::move(r.emit);
        if (r.stopped) c.stopped = true;
      }
      if (!c.stopped) shown += c.stops->Flush();
      if (!shown.empty()) session_->OnDelta(c, std::move(shown), {});
    }
    const char* finish = reason == FinishReason::kLength ? "length" : "stop";
    if (c.stopped) finish = "stop";
    session_->OnChoiceFinished(c, finish, reason == FinishReason::kError ? error : std::string(),
                               reason == FinishReason::kCancelled);
    session_.reset();  // the engine may keep the sink a little longer; the session need not wait for it
  }

 private:
  std::shared_ptr<GenerationSession> session_;
  GenerationSession::Choice* choice_;
};

}  // namespace

std::shared_ptr<GenerationSession> GenerationSession::Start(std::shared_ptr<runtime::ServedModel> holder,
                                                            const GenerationApiRequest& request,
                                                            std::vector<PromptPlan> prompts,
                                                            std::unique_ptr<GenerationFormatter> formatter,
                                                            std::shared_ptr<ResponseStream> stream,
                                                            std::shared_ptr<CancellationToken> client_gone) {
  std::shared_ptr<GenerationSession> s(new GenerationSession());
  s->holder_ = std::move(holder);
  s->model_ = s->holder_->AsGenerator();
  s->formatter_ = std::move(formatter);
  s->stream_ = std::move(stream);
  s->include_usage_ = request.include_usage;
  runtime::GenerativeServedModel& model = *s->model_;
  const text::HfTokenizer& tokenizer = model.tokenizer();

  std::shared_ptr<const generation::TokenVocabularyBytes> vocabulary;
  if (request.response_format != ResponseFormat::kText) vocabulary = model.vocabulary_bytes();

  std::vector<int32_t> stop_ids = request.stop_token_ids;
  if (!request.ignore_eos) {
    for (int32_t id : model.eos_token_ids()) {
      if (std::find(stop_ids.begin(), stop_ids.end(), id) == stop_ids.end()) stop_ids.push_back(id);
    }
  }

  // Every choice exists before the first is submitted: a sink may finish at once.
  for (size_t p = 0; p < prompts.size(); ++p) {
    for (int j = 0; j < request.n; ++j) {
      auto c = std::make_unique<Choice>();
      c->index = static_cast<int>(p) * request.n + j;
      c->eos_ids = stop_ids;
      c->tokenizer = &tokenizer;
      c->want_logprobs = request.sampling.logprobs;
      // The prompt's last tokens give the first generated token its context (a leading
      // space of SentencePiece vocabularies), as the text would read after the prompt.
      const auto& ids = prompts[p].ids;
      const size_t tail = std::min<size_t>(ids.size(), 6);
      c->detokenizer = std::make_unique<text::IncrementalDetokenizer>(
          tokenizer, request.skip_special_tokens, std::span<const int32_t>(ids.data() + ids.size() - tail, tail));
      c->stops = std::make_unique<generation::StopMatcher>(request.stop);
      if (request.echo) c->text = prompts[p].text;
      s->choices_.push_back(std::move(c));
    }
  }
  s->unfinished_ = static_cast<int>(s->choices_.size());
  if (s->stream_) {
    for (auto& c : s->choices_) {
      if (std::string e = s->formatter_->StartEvent(c->index); !e.empty()) s->stream_->Push(std::move(e));
    }
  }

  try {
    size_t k = 0;
    for (size_t p = 0; p < prompts.size(); ++p) {
      for (int j = 0; j < request.n; ++j, ++k) {
        generation::GenerationRequest g;
        g.prompt = prompts[p].ids;
        g.injected = prompts[p].injected;
        g.injected_storage = prompts[p].injected_storage;
        g.prefix_salt = prompts[p].prefix_salt;
        g.sampling = request.sampling;
        if (g.sampling.seed && j > 0) *g.sampling.seed += static_cast<uint64_t>(j);  // n choices differ, reproducibly
        g.max_tokens = *request.max_tokens;
        g.stop_token_ids = stop_ids;
        g.ignore_eos = request.ignore_eos;
        if (request.response_format == ResponseFormat::kJsonObject) {
          g.constraint = generation::MakeJsonConstraint(nullptr, vocabulary, model.eos_token_ids());
        } else if (request.response_format == ResponseFormat::kJsonSchema) {
          g.constraint = generation::MakeJsonConstraint(&request.json_schema, vocabulary, model.eos_token_ids());
        }
        auto sink = std::make_shared<ChoiceSink>(s, s->choices_[k].get());
        const uint64_t id = model.Submit(std::move(g), std::move(sink));
        std::lock_guard<std::mutex> lock(s->mutex_);
        s->sequence_ids_.push_back(id);
        s->usage_.prompt_tokens += static_cast<int64_t>(prompts[p].ids.size());
      }
    }
  } catch (...) {
    s->CancelAll();
    throw;
  }
  if (client_gone) {
    std::weak_ptr<GenerationSession> weak = s;
    client_gone->OnCancel([weak] {
      if (auto session = weak.lock()) session->CancelAll();
    });
  }
  return s;
}

GenerationSession::~GenerationSession() = default;

void GenerationSession::CancelAll() {
  std::vector<uint64_t> ids;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    cancelled_ = true;
    ids = sequence_ids_;
  }
  for (uint64_t id : ids) model_->Cancel(id);  // outside the lock: the engine thread may be in OnDelta
}

void GenerationSession::OnDelta(Choice& choice, std::string text, std::vector<TokenLogprobOut> logprobs) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (ttft_seconds_ < 0) {
    ttft_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  for (auto& lp : logprobs) lp.text_offset = choice.text.size();
  if (stream_) {
    std::string event = formatter_->DeltaEvent(choice.index, text, logprobs);
    if (!event.empty()) stream_->Push(std::move(event));
    return;
  }
  choice.text += text;
  for (auto& lp : logprobs) choice.logprobs.push_back(std::move(lp));
}

void GenerationSession::OnChoiceFinished(Choice& choice, const std::string& finish_reason, const std::string& error,
                                         bool cancelled) {
  std::lock_guard<std::mutex> lock(mutex_);
  choice.finished = true;
  choice.finish_reason = finish_reason;
  usage_.completion_tokens += choice.completion_tokens;
  if (!error.empty() && error_.empty()) error_ = error;
  if (cancelled) cancelled_ = true;
  if (stream_ && error.empty() && !cancelled) {
    stream_->Push(formatter_->FinishEvent(choice.index, finish_reason));
  }
  if (--unfinished_ > 0) return;
  if (stream_) FinishStreamLocked();
  finished_cv_.notify_all();
}

void GenerationSession::FinishStreamLocked() {
  if (!error_.empty()) {
    stream_->Push(formatter_->ErrorEvent(500, "generation failed: " + error_));
  } else if (include_usage_) {
    if (std::string e = formatter_->UsageEvent(usage_); !e.empty()) stream_->Push(std::move(e));
  }
  if (std::string done = formatter_->DoneEvent(); !done.empty()) stream_->Push(std::move(done));
  stream_->SetLogField("prompt_tokens", static_cast<double>(usage_.prompt_tokens));
  stream_->SetLogField("completion_tokens", static_cast<double>(usage_.completion_tokens));
  if (ttft_seconds_ >= 0) stream_->SetLogField("time_to_first_token_ms", ttft_seconds_ * 1000);
  stream_->Close();
}

std::string GenerationSession::Wait() {
  std::unique_lock<std::mutex> lock(mutex_);
  finished_cv_.wait(lock, [this] { return unfinished_ == 0; });
  if (!error_.empty()) ThrowInternal("generation failed: " + error_);
  if (cancelled_) throw Error(ErrorCode::kUnavailable, "the generation was cancelled (client gone or shutting down)");
  std::vector<ChoiceResult> results;
  for (const auto& c : choices_) {
    ChoiceResult r;
    r.index = c->index;
    r.text = c->text;
    r.finish_reason = c->finish_reason;
    r.completion_tokens = c->completion_tokens;
    r.logprobs = c->logprobs;
    results.push_back(std::move(r));
  }
  return formatter_->Body(results, usage_);
}

Usage GenerationSession::usage() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return usage_;
}

double GenerationSession::time_to_first_token_seconds() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return ttft_seconds_;
}

}  // namespace mms::api
