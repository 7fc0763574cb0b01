#include "api/predict_routes.h"

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "api/predict_response.h"
#include "api/request_handler.h"

namespace mms::api {

namespace {

// `texts` must be a JSON list of one or more strings.
std::vector<std::string> ParseTexts(const std::string& field) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(field);
  } catch (const nlohmann::json::exception&) {
    ThrowInvalidArgument("field \"texts\" is not valid JSON; expected a list of strings such as [\"a cat\", \"a dog\"]");
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

void HandlePredict(const httplib::Request& req, httplib::Response& res, RouteContext& ctx, RequestInfo& info) {
  if (!req.is_multipart_form_data()) {
    ThrowInvalidArgument("expected a multipart/form-data body with an \"image\" file and a \"texts\" field");
  }
  if (!req.has_file("image")) ThrowInvalidArgument("missing form field \"image\" (the image file)");
  if (!req.has_file("texts")) ThrowInvalidArgument("missing form field \"texts\" (a JSON list of strings)");
  const auto image = req.get_file_value("image");
  const std::vector<std::string> texts = ParseTexts(req.get_file_value("texts").content);
  CheckTexts(texts, ctx.limits);
  CheckImageSize(image.content.size(), ctx.limits);
  if (image.content.empty()) throw Error(ErrorCode::kUnsupportedMedia, "the \"image\" file is empty");

  const auto model = FindModelFor(ctx, info, ctx.repository.DefaultModel());  // held until the response is built
  const auto scores = model->Classify(image.content, texts);
  res.set_content(PredictResponseJson(scores), "application/json");
}

}  // namespace

void RegisterPredictRoutes(httplib::Server& server, RouteContext& ctx) {
  server.Post("/predict", WrapRoute("/predict", [&ctx](const httplib::Request& req, httplib::Response& res,
                                                       RequestInfo& info) { HandlePredict(req, res, ctx, info); },
                                    SimpleErrorBody, ctx));
  server.Get("/health", WrapRoute("/health", [&ctx](const httplib::Request&, httplib::Response& res, RequestInfo&) {
    if (!ctx.repository.AllReady()) {
      res.status = 503;
      res.set_content(R"({"status":"unhealthy","message":"a model is not ready; see the server log"})", "application/json");
      return;
    }
    res.set_content(R"({"status":"healthy"})", "application/json");
  }, SimpleErrorBody, ctx, RouteAccess::kOpen));
}

}  // namespace mms::api
