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
class ImageSource;
}

namespace mms::api {

// The rendered chat prompt and the byte ranges of the messages' own text in it.
struct RenderedChat {
  std::string text;
  std::vector<std::pair<size_t, size_t>> message_ranges;
};
RenderedChat RenderChat(const runtime::GenerativeServedModel& model, const GenerationApiRequest& request);

// The prompts of a request (completions: each prompt; chat: the rendered conversation).
// `images`: the features of the request's images, in order (chat with a model that reads
// images): each image placeholder the template wrote becomes the model's positions for
// one image, filled with its features; placeholders and images must match in number.
std::vector<PromptPlan> BuildPrompts(const runtime::GenerativeServedModel& model, const GenerationApiRequest& request,
                                     bool chat, const std::vector<runtime::ImageFeatures>& images = {});

// The features of a chat request's images: each URL fetched under the server's
// image-source policy, then encoded (or found in the feature cache) by the model. A model
// that takes text only refuses image parts with 400.
std::vector<runtime::ImageFeatures> EncodeRequestImages(runtime::GenerativeServedModel& model,
                                                        const GenerationApiRequest& request, const ImageSource& source);

// Fills in what the request left to the model (sampling defaults from
// generation_config.json, max_tokens) and refuses a prompt plus max_tokens beyond the
// context with 400 and the counts.
void ResolveLimits(const runtime::GenerativeServedModel& model, const std::vector<PromptPlan>& prompts, bool chat,
                   GenerationApiRequest& request);

}  // namespace mms::api
