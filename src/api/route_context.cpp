#include "api/route_context.h"

namespace mms::api {

std::shared_ptr<runtime::ServedModel> FindModelFor(RouteContext& ctx, RequestInfo& info, const std::string& name,
                                                   int64_t version) {
  info.principal.RequireModel(name);
  auto model = ctx.repository.Find(name, version);
  info.model = model->name();
  info.version = model->version();
  return model;
}

runtime::ClipServedModel& RequireClip(runtime::ServedModel& model) {
  if (auto* clip = model.AsClip()) return *clip;
  ThrowInvalidArgument("model \"" + model.name() + "\" is a " + model.family() +
                       " model: it generates text (use /v1/completions, /v1/chat/completions or "
                       "/v2/models/{m}/generate), it does not embed or classify");
}

runtime::GenerativeServedModel& RequireGenerator(runtime::ServedModel& model) {
  if (auto* generator = model.AsGenerator()) return *generator;
  ThrowInvalidArgument("model \"" + model.name() + "\" is a " + model.family() +
                       " model: it embeds and classifies (use /v1/embeddings, /predict or /v2/models/{m}/infer), "
                       "it does not generate text");
}

}  // namespace mms::api
