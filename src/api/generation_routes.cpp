#include "api/generation_routes.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>

#include "api/generation_prompt.h"
#include "api/generation_session.h"
#include "api/json_body.h"
#include "api/kserve_metadata.h"
#include "api/openai_codec.h"
#include "api/openai_generation_format.h"
#include "models/image_encoder.h"
#include "text/hf_tokenizer.h"

namespace mms::api {

namespace {

using json = nlohmann::json;

// Runs a parsed request to its answer: a stream that the connection writes as tokens come,
// or the whole body once every choice is done.
// `images`: where a chat request's image URLs may be fetched from (null: no images here).
void Run(const HttpRequest& req, HttpResponse& res, RequestInfo& info, std::shared_ptr<runtime::ServedModel> found,
         GenerationApiRequest& request, bool chat, std::unique_ptr<GenerationFormatter> formatter,
         const ImageSource* images) {
  runtime::GenerativeServedModel& model = RequireGenerator(*found);
  std::vector<runtime::ImageFeatures> features;
  if (images && !request.images.empty()) {
    const auto start = std::chrono::steady_clock::now();
    features = EncodeRequestImages(model, request, *images);
    // Fetching, decoding and encoding (or the cache lookup): the part of the time to the
    // first token that is the images', beside the prefill.
    info.log_fields["images"] = static_cast<double>(features.size());
    info.log_fields["images_cached"] = static_cast<double>(
        std::count_if(features.begin(), features.end(), [](const runtime::ImageFeatures& f) { return f.cached; }));
    info.log_fields["image_encode_ms"] =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  }
  std::vector<PromptPlan> prompts = BuildPrompts(model, request, chat, features);
  ResolveLimits(model, prompts, chat, request);
  std::shared_ptr<ResponseStream> stream;
  if (request.stream) stream = std::make_shared<ResponseStream>();
  auto session = GenerationSession::Start(std::move(found), request, std::move(prompts), std::move(formatter), stream,
                                          req.client_gone);
  if (stream) {
    // Only now: a request refused by Start is answered with a plain error body.
    res.stream = stream;
    res.content_type = "text/event-stream";
    res.SetHeader("Cache-Control", "no-cache");
    return;
  }
  res.SetContent(session->Wait(), "application/json");
  const Usage usage = session->usage();
  info.log_fields["prompt_tokens"] = static_cast<double>(usage.prompt_tokens);
  info.log_fields["completion_tokens"] = static_cast<double>(usage.completion_tokens);
  if (const double ttft = session->time_to_first_token_seconds(); ttft >= 0) {
    info.log_fields["time_to_first_token_ms"] = ttft * 1000;
  }
}

void HandleOpenAI(const HttpRequest& req, HttpResponse& res, RouteContext& ctx, RequestInfo& info, bool chat) {
  GenerationApiRequest request =
      chat ? ParseChatRequest(req.body, ctx.limits) : ParseCompletionRequest(req.body, ctx.limits);
  auto found = FindModelFor(ctx, info, request.model);
  const auto api = chat ? openai::GenerationApi::kChat : openai::GenerationApi::kCompletions;
  auto formatter = openai::MakeGenerationFormatter(api, request.model, openai::NewCompletionId(api), std::time(nullptr),
                                                   request.sampling.logprobs, request.sampling.top_logprobs,
                                                   request.include_usage);
  Run(req, res, info, std::move(found), request, chat, std::move(formatter), &ctx.images);
}

json ParseObject(const std::string& body) {
  json j = ParseJsonBody(body, "the request");
  if (!j.is_object()) ThrowInvalidArgument("the request must be a JSON object");
  return j;
}

// POST /tokenize {model, prompt | messages, add_special_tokens} -> {tokens, count, max_model_len}
void HandleTokenize(const HttpRequest& req, HttpResponse& res, RouteContext& ctx, RequestInfo& info) {
  const json body = ParseObject(req.body);
  const bool chat = body.contains("messages");
  GenerationApiRequest request = chat ? ParseChatRequest(req.body, ctx.limits) : ParseCompletionRequest(req.body, ctx.limits);
  auto found = FindModelFor(ctx, info, request.model);
  runtime::GenerativeServedModel& model = RequireGenerator(*found);
  if (!chat && request.prompt_texts.size() != 1) ThrowInvalidArgument("\"prompt\" must be one string here");
  // Image parts count as the model's positions per image; the images are not fetched.
  std::vector<runtime::ImageFeatures> placeholders;
  if (!request.images.empty()) {
    const models::ImageEncoder* encoder = model.image_encoder();
    if (!encoder) ThrowInvalidArgument(request.images.front().where + " is an image; model \"" + model.name() + "\" takes text only");
    const auto zeros = std::make_shared<const std::vector<float>>(
        static_cast<size_t>(encoder->positions_per_image() * encoder->feature_size()), 0.0f);
    placeholders.assign(request.images.size(), runtime::ImageFeatures{zeros, 0, false});
  }
  const auto prompts = BuildPrompts(model, request, chat, placeholders);
  res.SetContent(json({{"tokens", prompts[0].ids},
                       {"count", prompts[0].ids.size()},
                       {"max_model_len", model.context_length()}})
                     .dump(),
                 "application/json");
}

// POST /detokenize {model, tokens} -> {prompt}
void HandleDetokenize(const HttpRequest& req, HttpResponse& res, RouteContext& ctx, RequestInfo& info) {
  const json body = ParseObject(req.body);
  if (!body.contains("model") || !body["model"].is_string()) ThrowInvalidArgument("\"model\" is required");
  auto found = FindModelFor(ctx, info, body["model"].get<std::string>());
  runtime::GenerativeServedModel& model = RequireGenerator(*found);
  if (!body.contains("tokens") || !body["tokens"].is_array() || body["tokens"].size() > (1u << 20)) {
    ThrowInvalidArgument("\"tokens\" must be a list of token ids");
  }
  std::vector<int32_t> ids;
  for (const auto& t : body["tokens"]) {
    if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() >= model.valid_vocab()) {
      ThrowInvalidArgument("\"tokens\" holds " + DescribeClientValue(t) + ", which is not a token id of model \"" +
                           model.name() + "\" (0 to " + std::to_string(model.valid_vocab() - 1) + ")");
    }
    ids.push_back(static_cast<int32_t>(t.get<int64_t>()));
  }
  res.SetContent(json({{"prompt", model.tokenizer().Decode(ids, false)}}).dump(-1, ' ', false, json::error_handler_t::replace),
                 "application/json");
}

// KServe's generate extension, as Triton serves it: {"text_input": ..., "parameters": {...}}
// (parameters may also be top-level fields) -> {"model_name", "model_version", "text_output"};
// generate_stream sends one such object per server-sent event, with the text so far as
// deltas, and an {"error": ...} event on failure.
class KServeGenerateFormatter final : public GenerationFormatter {
 public:
  KServeGenerateFormatter(std::string model, int64_t version) : model_(std::move(model)), version_(std::to_string(version)) {}
  std::string DeltaEvent(int, std::string_view text, const std::vector<TokenLogprobOut>&) override {
    if (text.empty()) return {};
    return "data: " + Output(std::string(text), nullptr).dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
  }
  std::string FinishEvent(int, const std::string& finish_reason) override {
    return "data: " + Output("", &finish_reason).dump() + "\n\n";
  }
  std::string DoneEvent() override { return {}; }
  std::string ErrorEvent(int status, const std::string& message) override {
    return "data: " + kserve::ErrorBody(status, message) + "\n\n";
  }
  std::string Body(const std::vector<ChoiceResult>& choices, const Usage&) override {
    json j = Output(choices.at(0).text, &choices.at(0).finish_reason);
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
  }

 private:
  json Output(std::string text, const std::string* finish_reason) const {
    json j = {{"model_name", model_}, {"model_version", version_}, {"text_output", std::move(text)}};
    if (finish_reason) j["finish_reason"] = *finish_reason;
    return j;
  }
  std::string model_, version_;
};

void HandleKServeGenerate(const HttpRequest& req, HttpResponse& res, RouteContext& ctx, RequestInfo& info, bool stream) {
  const json body = ParseObject(req.body);
  const std::string name = req.PathParam(0);
  const int64_t version = req.PathParam(1).empty() ? 0 : kserve::ParseVersion(req.PathParam(1));
  auto found = FindModelFor(ctx, info, name, version);
  GenerationApiRequest request;
  request.model = name;
  const json* input = body.contains("text_input") ? &body["text_input"] : nullptr;
  if (!input || !input->is_string()) ThrowInvalidArgument("\"text_input\" is required: the prompt as a string");
  request.prompt_texts.push_back(input->get<std::string>());
  CheckText(request.prompt_texts[0], InputLimits{.max_text_chars = kMaxPromptBytes}, "\"text_input\"");
  // Models that read images: "image" is one URL or a list of them (data:, or http(s) / file
  // as the server allows), one per <image> placeholder written in text_input.
  if (const auto it = body.find("image"); it != body.end() && !it->is_null()) {
    const json list = it->is_array() ? *it : json::array({*it});
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string where = "\"image\"[" + std::to_string(i) + "]";
      if (!list[i].is_string() || list[i].get_ref<const std::string&>().empty()) {
        ThrowInvalidArgument(where + " must be an image URL (data:image/...;base64,...)");
      }
      if (request.images.size() >= ctx.limits.max_images) {
        throw Error(ErrorCode::kTooLarge, where + ": more than " + std::to_string(ctx.limits.max_images) +
                                              " images in one request (the server's limit)");
      }
      request.images.push_back({list[i].get<std::string>(), where});
    }
  }
  json fields = body;
  if (body.contains("parameters")) {
    if (!body["parameters"].is_object()) ThrowInvalidArgument("\"parameters\" must be an object");
    for (const auto& [k, v] : body["parameters"].items()) fields[k] = v;
  }
  fields.erase("stream");
  fields.erase("stream_options");
  fields.erase("image");
  ReadSamplingFields(fields, request, false);
  request.stream = stream;
  request.n = 1;
  const int64_t served_version = found->version();
  Run(req, res, info, std::move(found), request, false,
      std::make_unique<KServeGenerateFormatter>(name, served_version), &ctx.images);
}

}  // namespace

void RegisterGenerationRoutes(Router& router, RouteContext& ctx) {
  router.Add("POST", "/v1/completions", [&ctx](const HttpRequest& req, HttpResponse& res, RequestInfo& info) {
    HandleOpenAI(req, res, ctx, info, false);
  }, openai::ErrorBody);
  router.Add("POST", "/v1/chat/completions", [&ctx](const HttpRequest& req, HttpResponse& res, RequestInfo& info) {
    HandleOpenAI(req, res, ctx, info, true);
  }, openai::ErrorBody);
  router.Add("POST", "/tokenize", [&ctx](const HttpRequest& req, HttpResponse& res, RequestInfo& info) {
    HandleTokenize(req, res, ctx, info);
  }, openai::ErrorBody);
  router.Add("POST", "/detokenize", [&ctx](const HttpRequest& req, HttpResponse& res, RequestInfo& info) {
    HandleDetokenize(req, res, ctx, info);
  }, openai::ErrorBody);
  for (const char* suffix : {"", "/versions/{version}"}) {
    const std::string base = std::string("/v2/models/{model}") + suffix;
    router.Add("POST", base + "/generate", [&ctx](const HttpRequest& req, HttpResponse& res, RequestInfo& info) {
      HandleKServeGenerate(req, res, ctx, info, false);
    }, kserve::ErrorBody);
    router.Add("POST", base + "/generate_stream", [&ctx](const HttpRequest& req, HttpResponse& res, RequestInfo& info) {
      HandleKServeGenerate(req, res, ctx, info, true);
    }, kserve::ErrorBody);
  }
}

}  // namespace mms::api
