#include "api/route_context.h"

#include "runtime/generative_served_model.h"
#include "runtime/speech_service.h"

namespace mms::api {

std::shared_ptr<runtime::ServedModel> FindModelFor(RouteContext& ctx, RequestInfo& info, const std::string& name,
                                                   int64_t version) {
  info.principal.RequireModel(name);
  auto model = ctx.repository.Find(name, version);
  info.model = model->name();
  info.version = model->version();
  return model;
}

namespace {

[[noreturn]] void ThrowListensOnly(runtime::ServedModel& model) {
  ThrowInvalidArgument("model \"" + model.name() + "\" is a " + model.family() +
                       " model: it transcribes audio (use /v1/audio/transcriptions, /v1/audio/translations or "
                       "/v2/models/{m}/infer with AUDIO)");
}

bool Listens(runtime::ServedModel& model) {
  auto* generator = model.AsGenerator();
  return generator && generator->speech() != nullptr;
}

}  // namespace

runtime::ClipServedModel& RequireClip(runtime::ServedModel& model) {
  if (auto* clip = model.AsClip()) return *clip;
  if (Listens(model)) ThrowListensOnly(model);
  ThrowInvalidArgument("model \"" + model.name() + "\" is a " + model.family() +
                       " model: it generates text (use /v1/completions, /v1/chat/completions or "
                       "/v2/models/{m}/generate), it does not embed or classify");
}

runtime::GenerativeServedModel& RequireGenerator(runtime::ServedModel& model) {
  if (Listens(model)) ThrowListensOnly(model);
  if (auto* generator = model.AsGenerator()) return *generator;
  ThrowInvalidArgument("model \"" + model.name() + "\" is a " + model.family() +
                       " model: it embeds and classifies (use /v1/embeddings, /predict or /v2/models/{m}/infer), "
                       "it does not generate text");
}

runtime::SpeechService& RequireSpeech(runtime::ServedModel& model) {
  if (auto* generator = model.AsGenerator()) {
    if (auto* speech = generator->speech()) return *speech;
  }
  ThrowInvalidArgument("model \"" + model.name() + "\" is a " + model.family() +
                       " model: it does not transcribe audio (a Whisper checkpoint does)");
}

}  // namespace mms::api
