// From an API request to the prompt's token ids, as Hugging Face would build them:
// completions' prompts encoded with the tokenizer's special tokens (a BOS first), chat
// messages rendered with the model's chat template and encoded whole with no special
// tokens added (as transformers' apply_chat_template), except that a special-token string
// typed inside a message's text stays text.
#pragma once

#include <string>
#include <vector>

#include "api/generation_request.h"
#include "api/generation_session.h"
#include "runtime/generative_served_model.h"

namespace mms::api {

// The rendered chat prompt and the byte ranges of the messages' own text in it.
struct RenderedChat {
  std::string text;
  std::vector<std::pair<size_t, size_t>> message_ranges;
};
RenderedChat RenderChat(const runtime::GenerativeServedModel& model, const GenerationApiRequest& request);

// The prompts of a request (completions: each prompt; chat: the rendered conversation).
std::vector<PromptPlan> BuildPrompts(const runtime::GenerativeServedModel& model, const GenerationApiRequest& request,
                                     bool chat);

// Fills in what the request left to the model (sampling defaults from
// generation_config.json, max_tokens) and refuses a prompt plus max_tokens beyond the
// context with 400 and the counts.
void ResolveLimits(const runtime::GenerativeServedModel& model, const std::vector<PromptPlan>& prompts, bool chat,
                   GenerationApiRequest& request);

}  // namespace mms::api
