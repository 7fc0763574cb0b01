#include "api/generation_prompt.h"

#include <algorithm>

#include "api/image_source.h"
#include "base/error.h"
#include "models/image_encoder.h"
#include "template/chat_template.h"
#include "text/hf_tokenizer.h"

namespace mms::api {

namespace {

std::string_view Trimmed(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

RenderedChat RenderChat(const runtime::GenerativeServedModel& model, const GenerationApiRequest& request) {
  const tmpl::ChatTemplate* chat_template = model.chat_template();
  if (!chat_template) {
    ThrowInvalidArgument("model \"" + model.name() +
                         "\" has no chat template (none in its folder, and no --chat-template): use /v1/completions "
                         "with a prompt, or start the server with --chat-template FILE");
  }
  // Ordered, as transformers hands them over: a template that prints a message with
  // tojson shows its keys in this order (role, content, then the rest).
  using ordered = nlohmann::ordered_json;
  // A model that reads images gets every content as a list of parts, as transformers'
  // processors give it to their templates (llava-hf's loops over the parts).
  const bool parts = model.image_encoder() != nullptr;
  ordered messages = ordered::array();
  for (const auto& m : request.messages) {
    ordered j = ordered::object();
    j["role"] = m.role;
    if (parts && m.content.is_string()) {
      j["content"] = ordered::array({ordered{{"type", "text"}, {"text", m.content.get<std::string>()}}});
    } else {
      j["content"] = ordered::parse(m.content.dump());
    }
    for (const auto& [key, value] : m.extra.items()) j[key] = ordered::parse(value.dump());
    messages.push_back(std::move(j));
  }
  const auto& tc = model.tokenizer_config();
  ordered variables = ordered::object();
  variables["messages"] = std::move(messages);
  variables["add_generation_prompt"] = request.add_generation_prompt;
  variables["bos_token"] = tc.bos_token;
  variables["eos_token"] = tc.eos_token;
  RenderedChat out;
  out.text = chat_template->RenderOrdered(variables);
  // Each message text where the template put it, in order. A template that changes the
  // text (trim) is matched by the trimmed text; one that rewrites it more is not matched,
  // and special-token strings in that message are then read as the tokens.
  size_t cursor = 0;
  for (const auto& m : request.messages) {
    for (const auto& t : m.texts) {
      for (std::string_view probe : {std::string_view(t), Trimmed(t)}) {
        if (probe.empty()) break;
        const size_t at = out.text.find(probe, cursor);
        if (at == std::string::npos) continue;
        out.message_ranges.emplace_back(at, at + probe.size());
        cursor = at + probe.size();
        break;
      }
    }
  }
  return out;
}

namespace {

// Writes each image placeholder of p.ids out to the model's positions for one image and
// points those positions at the image's features.
// `chat`: the placeholders come from the chat template (else from the prompt's own text).
void ExpandImagePlaceholders(const runtime::GenerativeServedModel& model,
                             const std::vector<runtime::ImageFeatures>& images, PromptPlan& p, bool chat) {
  const models::ImageEncoder* encoder = model.image_encoder();
  if (!encoder) {
    if (!images.empty()) ThrowInvalidArgument("model \"" + model.name() + "\" takes text only; it cannot read images");
    return;
  }
  const int32_t placeholder = encoder->image_token_id();
  const size_t found = static_cast<size_t>(std::count(p.ids.begin(), p.ids.end(), placeholder));
  if (found != images.size()) {
    if (chat) {
      ThrowInvalidArgument("the chat template of model \"" + model.name() + "\" placed " + std::to_string(found) +
                           " image placeholder(s) for the request's " + std::to_string(images.size()) +
                           " image(s); each image_url part needs one");
    }
    ThrowInvalidArgument("the prompt holds " + std::to_string(found) + " image placeholder(s) (token " +
                         std::to_string(placeholder) + ") for the request's " + std::to_string(images.size()) +
                         " image(s); write one per image");
  }
  if (images.empty()) return;
  const int64_t per_image = encoder->positions_per_image(), size = encoder->feature_size();
  auto storage = std::make_shared<std::vector<std::shared_ptr<const std::vector<float>>>>();
  std::vector<int32_t> ids;
  ids.reserve(p.ids.size() + images.size() * static_cast<size_t>(per_image));
  uint64_t salt = 0x6c6c617661ull;  // any fixed start: only equality of salts matters
  size_t k = 0;
  for (const int32_t id : p.ids) {
    if (id != placeholder) {
      ids.push_back(id);
      continue;
    }
    const runtime::ImageFeatures& f = images[k++];
    if (!f.values || f.values->size() != static_cast<size_t>(per_image * size)) {
      ThrowInternal("image features of the wrong size for model \"" + model.name() + "\"");
    }
    storage->push_back(f.values);
    for (int64_t i = 0; i < per_image; ++i) {
      p.injected.push_back({static_cast<int32_t>(ids.size()), f.values->data() + i * size});
      ids.push_back(placeholder);
    }
    // Order matters: the same images in another order are another prompt.
    salt = (salt ^ f.content_hash) * 0x9E3779B97F4A7C15ull + k;
  }
  p.ids = std::move(ids);
  p.injected_storage = std::move(storage);
  p.prefix_salt = salt;
}

}  // namespace

std::vector<runtime::ImageFeatures> EncodeRequestImages(runtime::GenerativeServedModel& model,
                                                        const GenerationApiRequest& request, const ImageSource& source) {
  if (request.images.empty()) return {};
  if (!model.image_encoder()) {
    ThrowInvalidArgument(request.images.front().where + " is an image; model \"" + model.name() +
                         "\" takes text only");
  }
  std::vector<std::string> bytes, where;
  for (const ChatImage& image : request.images) {
    bytes.push_back(source.Fetch(image.url, image.where));
    where.push_back(image.where);
  }
  return model.EncodeImages(bytes, where);
}

std::vector<PromptPlan> BuildPrompts(const runtime::GenerativeServedModel& model, const GenerationApiRequest& request,
                                     bool chat, const std::vector<runtime::ImageFeatures>& images) {
  const text::HfTokenizer& tokenizer = model.tokenizer();
  std::vector<PromptPlan> prompts;
  if (chat) {
    RenderedChat rendered = RenderChat(model, request);
    bool add_special = request.add_special_tokens.value_or(false);
    // A template that writes the BOS itself gets no second one.
    const std::string& bos = model.tokenizer_config().bos_token;
    if (add_special && !bos.empty() && rendered.text.rfind(bos, 0) == 0) add_special = false;
    PromptPlan p;
    p.ids = tokenizer.EncodeWithLiteralRanges(rendered.text, rendered.message_ranges, add_special);
    p.text = std::move(rendered.text);
    ExpandImagePlaceholders(model, images, p, /*chat=*/true);
    prompts.push_back(std::move(p));
    return prompts;
  }
  const bool add_special = request.add_special_tokens.value_or(true);
  for (const auto& text : request.prompt_texts) prompts.push_back({tokenizer.Encode(text, add_special), text});
  // A model that reads images: placeholders written in a prompt (KServe generate's
  // text_input) need as many images, and a completion without images may hold none.
  if (model.image_encoder()) {
    if (!images.empty() && prompts.size() != 1) ThrowInvalidArgument("images go with exactly one prompt");
    for (auto& p : prompts) ExpandImagePlaceholders(model, images, p, /*chat=*/false);
  }
  for (const auto& ids : request.prompt_ids) {
    for (int32_t id : ids) {
      if (id >= model.valid_vocab()) {
        ThrowInvalidArgument("prompt token id " + std::to_string(id) + " is not in the vocabulary of model \"" +
                             model.name() + "\" (" + std::to_string(model.valid_vocab()) + " tokens)");
      }
    }
    prompts.push_back({ids, request.echo ? tokenizer.Decode(ids, false) : std::string()});
  }
  return prompts;
}

void ResolveLimits(const runtime::GenerativeServedModel& model, const std::vector<PromptPlan>& prompts, bool chat,
                   GenerationApiRequest& request) {
  const auto& d = model.default_sampling();
  auto& s = request.sampling;
  if (!request.has_temperature) s.temperature = d.temperature;
  if (!request.has_top_p) s.top_p = d.top_p;
  if (!request.has_top_k) s.top_k = d.top_k;
  if (!request.has_repetition_penalty) s.repetition_penalty = d.repetition_penalty;
  for (const auto& [id, bias] : s.logit_bias) {
    if (id >= model.valid_vocab()) {
      ThrowInvalidArgument("\"logit_bias\" names token " + std::to_string(id) + ", which model \"" + model.name() +
                           "\" does not have (" + std::to_string(model.valid_vocab()) + " tokens)");
    }
  }
  const int64_t context = model.context_length();
  size_t longest = 0, image_positions = 0;
  for (const auto& p : prompts) {
    if (p.ids.empty()) ThrowInvalidArgument("the prompt is empty after tokenization");
    longest = std::max(longest, p.ids.size());
    image_positions = std::max(image_positions, p.injected.size());
  }
  const std::string of_images =
      image_positions > 0 ? " (" + std::to_string(image_positions) + " of them image positions)" : "";
  const int64_t prompt_tokens = static_cast<int64_t>(longest);
  if (!request.max_tokens) {
    if (!chat) {
      request.max_tokens = 16;  // OpenAI's default for completions
    } else if (prompt_tokens < context) {
      request.max_tokens = static_cast<int>(context - prompt_tokens);
    }
  }
  const int64_t asked = request.max_tokens ? *request.max_tokens : 0;
  if (prompt_tokens + std::max<int64_t>(asked, 1) > context) {
    ThrowInvalidArgument("this model's maximum context length is " + std::to_string(context) +
                         " tokens; the prompt has " + std::to_string(prompt_tokens) + " tokens" + of_images + " and " +
                         (request.max_tokens ? "max_tokens asks for " + std::to_string(asked) + " more"
                                             : std::string("no room is left for the answer")) +
                         " (" + std::to_string(prompt_tokens + asked) + " in all). Shorten the prompt or lower max_tokens");
  }
}

}  // namespace mms::api
