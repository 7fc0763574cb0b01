// One API request's generation, from prompt ids to the answer: submits a sequence per
// choice to the model, turns each choice's tokens into text (incremental detokenization,
// stop strings held back until they cannot match, logprobs), and either collects the
// whole answer (Wait) or pushes server-sent events into a ResponseStream as tokens come.
// A client that disconnects cancels every sequence of the request.
//
// The shape of the answer belongs to the API (OpenAI completions or chat, KServe
// generate): a GenerationFormatter writes it, so the logic here exists once.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "api/generation_request.h"
#include "api/response_stream.h"
#include "models/generative_model.h"
#include "base/cancellation.h"
#include "runtime/generative_served_model.h"

namespace mms::api {

struct TokenLogprobOut {
  int32_t id = 0;
  std::string token;  // the token's text on its own
  float logprob = 0;
  std::vector<std::pair<std::string, float>> top;  // alternatives, most likely first
  size_t text_offset = 0;  // where the token's text starts in the choice's text
};

struct ChoiceResult {
  int index = 0;
  std::string text;
  std::string finish_reason;  // "stop", "length"
  int completion_tokens = 0;
  std::vector<TokenLogprobOut> logprobs;  // when asked for
};

struct Usage {
  int64_t prompt_tokens = 0, completion_tokens = 0;
};

class GenerationFormatter {
 public:
  virtual ~GenerationFormatter() = default;
  // Streaming: the bytes of each server-sent event (empty: nothing to send).
  virtual std::string StartEvent(int choice) { return {}; }
  virtual std::string DeltaEvent(int choice, std::string_view text, const std::vector<TokenLogprobOut>& logprobs) = 0;
  virtual std::string FinishEvent(int choice, const std::string& finish_reason) = 0;
  virtual std::string UsageEvent(const Usage& usage) { return {}; }
  virtual std::string DoneEvent() { return "data: [DONE]\n\n"; }
  virtual std::string ErrorEvent(int http_status, const std::string& message) = 0;
  // Not streaming: the whole body.
  virtual std::string Body(const std::vector<ChoiceResult>& choices, const Usage& usage) = 0;
};

// One prompt of the request (completions may carry several).
struct PromptPlan {
  std::vector<int32_t> ids;
  std::string text;  // for echo
  // Models that read images: the embeddings written over the image positions, what owns
  // them, and the images' content hashes mixed into the prefix-cache keys.
  std::vector<models::InjectedEmbedding> injected;
  std::shared_ptr<const void> injected_storage;
  uint64_t prefix_salt = 0;
};

class GenerationSession : public std::enable_shared_from_this<GenerationSession> {
 public:
  // Submits prompts x n sequences. Throws what Submit throws (the context check, a full
  // queue, an open breaker); sequences already queued are cancelled first.
  // `model_holder` keeps the model version alive while the session runs (a stream outlives
  // the route). `stream` null: collect for Wait.
  static std::shared_ptr<GenerationSession> Start(std::shared_ptr<runtime::ServedModel> model_holder,
                                                  const GenerationApiRequest& request,
                                                  std::vector<PromptPlan> prompts,
                                                  std::unique_ptr<GenerationFormatter> formatter,
                                                  std::shared_ptr<ResponseStream> stream,
                                                  std::shared_ptr<CancellationToken> client_gone);
  ~GenerationSession();

  // Not streaming: blocks until every choice is finished, then returns the body. Throws
  // Error when a sequence failed (kInternal), or kUnavailable when it was cancelled.
  std::string Wait();
  Usage usage() const;
  double time_to_first_token_seconds() const;

  // Called by the choices' sinks (on the engine thread).
  struct Choice;
  void OnDelta(Choice& choice, std::string text, std::vector<TokenLogprobOut> logprobs);
  void OnChoiceFinished(Choice& choice, const std::string& finish_reason, const std::string& error, bool cancelled);

 private:
  GenerationSession() = default;
  void CancelAll();
  void FinishStreamLocked();

  std::shared_ptr<runtime::ServedModel> holder_;
  runtime::GenerativeServedModel* model_ = nullptr;
  std::unique_ptr<GenerationFormatter> formatter_;
  std::shared_ptr<ResponseStream> stream_;
  bool include_usage_ = false;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();

  mutable std::mutex mutex_;
  std::condition_variable finished_cv_;
  std::vector<std::unique_ptr<Choice>> choices_;
  std::vector<uint64_t> sequence_ids_;
  int unfinished_ = 0;
  Usage usage_;
  double ttft_seconds_ = -1;
  std::string error_;  // the first failure
  bool cancelled_ = false;
};

}  // namespace mms::api
