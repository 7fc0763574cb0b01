#include "api/openai_routes.h"

#include <algorithm>
#include <string_view>
#include <vector>

#include "api/openai_codec.h"
#include "api/request_handler.h"
#include "runtime/generative_served_model.h"

namespace mms::api {

namespace {

// Models with at least one ready version, each named once, in the repository's order.
// The load time is not recorded anywhere, so "created" is 0.
// Only those the caller may use are listed.
std::vector<openai::ModelInfo> ReadyModels(const runtime::ModelRepository& repository, const Principal& caller) {
  std::vector<openai::ModelInfo> models;
  for (const auto& status : repository.Index()) {
    if (status.state != runtime::ModelState::kReady) continue;
    if (caller.models && !caller.models->count(status.name)) continue;
    const bool seen = std::any_of(models.begin(), models.end(), [&](const auto& m) { return m.id == status.name; });
    if (seen) continue;
    openai::ModelInfo info;
    info.id = status.name;
    try {
      const auto served = repository.Find(status.name);
      info.family = served->family();
      if (auto* generator = served->AsGenerator()) {
        info.generates = true;
        info.max_model_len = generator->context_length();
        info.vision = generator->image_encoder() != nullptr;
      }
    } catch (const Error&) {
      // unloaded since Index(): listed without details
    }
    models.push_back(std::move(info));
  }
  return models;
}

void HandleGetModel(const std::string& id, HttpResponse& res, RouteContext& ctx, const Principal& caller) {
  caller.RequireModel(id);
  for (const auto& model : ReadyModels(ctx.repository, caller)) {
    if (model.id == id) {
      res.SetContent(openai::ModelJson(model), "application/json");
      return;
    }
  }
  throw Error(ErrorCode::kNotFound, "model \"" + id + "\" does not exist or has no ready version");
}

// Images and texts go to the model in one call each (so that each batches as a whole)
// and come back to their places in the request. Embeddings are L2-normalized, as
// OpenAI's are: clients compare them with a dot product.
void HandleEmbeddings(const HttpRequest& req, HttpResponse& res, RouteContext& ctx, RequestInfo& info) {
  openai::EmbeddingsRequest request = openai::ParseEmbeddingsRequest(req.body, ctx.limits);
  const auto found = FindModelFor(ctx, info, request.model);  // 403 not allowed, 404 unknown, 503 not ready
  runtime::ClipServedModel* served = &RequireClip(*found);
  if (request.dimensions && *request.dimensions != served->embed_dim()) {
    ThrowInvalidArgument("\"dimensions\" is " + std::to_string(*request.dimensions) + " but model \"" +
                         request.model + "\" makes " + std::to_string(served->embed_dim()) +
                         "-dimensional embeddings; it cannot shorten them (leave \"dimensions\" out)");
  }

  std::vector<std::string_view> images;
  std::vector<std::string> texts;
  std::vector<size_t> image_slots, text_slots;
  int64_t prompt_tokens = 0;  // CLIP tokens of the texts (with start and end tokens); images count 0
  for (size_t i = 0; i < request.inputs.size(); ++i) {
    auto& input = request.inputs[i];
    if (input.kind == openai::EmbeddingInput::Kind::kImage) {
      images.push_back(input.image);
      image_slots.push_back(i);
    } else {
      prompt_tokens += static_cast<int64_t>(served->pipeline().Tokenize(input.text).size());
      texts.push_back(std::move(input.text));
      text_slots.push_back(i);
    }
  }

  std::vector<std::vector<float>> rows(request.inputs.size());
  const auto place = [&rows](const models::Embeddings& e, const std::vector<size_t>& slots) {
    for (size_t k = 0; k < slots.size(); ++k) {
      rows[slots[k]] = e.RowVector(static_cast<int64_t>(k));
      openai::NormalizeL2(rows[slots[k]]);
    }
  };
  if (!images.empty()) place(served->EmbedImages(images), image_slots);
  if (!texts.empty()) place(served->EmbedTexts(texts), text_slots);
  res.SetContent(openai::EmbeddingsResponseJson(request.model, rows, request.encoding_format, prompt_tokens),
                  "application/json");
}

}  // namespace

void RegisterOpenAIRoutes(Router& router, RouteContext& ctx) {
  router.Add("GET", "/v1/models", [&ctx](const HttpRequest&, HttpResponse& res, RequestInfo& info) {
    res.SetContent(openai::ModelListJson(ReadyModels(ctx.repository, info.principal)), "application/json");
  }, openai::ErrorBody, RouteAccess::kProtected, RouteExecution::kInline);
  router.Add("GET", "/v1/models/{id}", [&ctx](const HttpRequest& req, HttpResponse& res, RequestInfo& info) {
    HandleGetModel(req.PathParam(0), res, ctx, info.principal);
  }, openai::ErrorBody, RouteAccess::kProtected, RouteExecution::kInline);
  router.Add("POST", "/v1/embeddings", [&ctx](const HttpRequest& req, HttpResponse& res, RequestInfo& info) {
    HandleEmbeddings(req, res, ctx, info);
  }, openai::ErrorBody);
}

}  // namespace mms::api
