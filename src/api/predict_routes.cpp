#include "api/predict_routes.h"

#include <nlohmann/json.hpp>

#include "api/json_body.h"
#include "api/multipart.h"
#include "api/predict_response.h"
#include "api/request_handler.h"
#include "engine/op_profile.h"

namespace mms::api {

namespace {

// `texts` must be a JSON list of one or more strings.
std::vector<std::string> ParseTexts(std::string_view field) {
  nlohmann::json j;
  try {
    j = ParseJsonBody(field, "field \"texts\"");
  } catch (const Error& e) {
    ThrowInvalidArgument(std::string(e.what()) + "; expected a list of strings such as [\"a cat\", \"a dog\"]");
  }
  if (!j.is_array()) ThrowInvalidArgument("field \"texts\" must be a JSON list of strings");
  if (j.empty()) ThrowInvalidArgument("field \"texts\" is an empty list; give at least one text");
  std::vector<std::string> texts;
  for (size_t i = 0; i < j.size(); ++i) {
    if (!j[i].is_string()) ThrowInvalidArgument("texts[" + std::to_string(i) + "] is not a string");
    texts.push_back(j[i].get<std::string>());
  }
  return texts;
}

void HandlePredict(const HttpRequest& req, HttpResponse& res, RouteContext& ctx, RequestInfo& info) {
  profile::Timer stages("serving", -1);
  const auto boundary = MultipartBoundary(req.HeaderOr("Content-Type"));
  if (!boundary) {
    ThrowInvalidArgument("expected a multipart/form-data body with an \"image\" file and a \"texts\" field");
  }
  const std::vector<MultipartPart> parts = ParseMultipart(req.body, *boundary);
  const MultipartPart* image = FindPart(parts, "image");
  const MultipartPart* texts_part = FindPart(parts, "texts");
  if (!image) ThrowInvalidArgument("missing form field \"image\" (the image file)");
  if (!texts_part) ThrowInvalidArgument("missing form field \"texts\" (a JSON list of strings)");
  const std::vector<std::string> texts = ParseTexts(texts_part->content);
  CheckTexts(texts, ctx.limits);
  CheckImageSize(image->content.size(), ctx.limits);
  if (image->content.empty()) throw Error(ErrorCode::kUnsupportedMedia, "the \"image\" file is empty");

  const auto model = FindModelFor(ctx, info, ctx.repository.DefaultModel());  // held until the response is built
  stages.Lap("parse_form");
  const auto scores = RequireClip(*model).Classify(image->content, texts);
  stages = profile::Timer("serving", -1);  // Classify timed its own stages
  res.SetContent(PredictResponseJson(scores), "application/json");
  stages.Lap("respond");
}

}  // namespace

void RegisterPredictRoutes(Router& router, RouteContext& ctx) {
  router.Add("POST", "/predict", [&ctx](const HttpRequest& req, HttpResponse& res, RequestInfo& info) {
    HandlePredict(req, res, ctx, info);
  }, SimpleErrorBody);
  router.Add("GET", "/health", [&ctx](const HttpRequest&, HttpResponse& res, RequestInfo&) {
    if (!ctx.repository.AllReady()) {
      res.status = 503;
      res.SetContent(R"({"status":"unhealthy","message":"a model is not ready; see the server log"})", "application/json");
      return;
    }
    res.SetContent(R"({"status":"healthy"})", "application/json");
  }, SimpleErrorBody, RouteAccess::kOpen, RouteExecution::kInline);
}

}  // namespace mms::api
