#include "api/kserve_routes.h"

#include "api/audio_routes.h"
#include "runtime/generative_served_model.h"

#include <algorithm>

#include "api/kserve_codec.h"
#include "api/kserve_metadata.h"
#include "api/json_body.h"
#include "api/request_handler.h"

namespace mms::api {

namespace {

using nlohmann::json;
using namespace kserve;

// /v2/models/{model} and /v2/models/{model}/versions/{version}: every model route is
// registered under both.
const char* const kModelPaths[] = {"/v2/models/{model}", "/v2/models/{model}/versions/{version}"};

struct ModelRef {
  std::string name;
  int64_t version = 0;  // 0: none in the path (the highest ready version)
};

ModelRef RefFrom(const HttpRequest& req) {
  ModelRef ref{req.PathParam(0)};
  if (!req.PathParam(1).empty()) ref.version = ParseVersion(req.PathParam(1));
  return ref;
}

void SetJson(HttpResponse& res, const json& body) {
  res.SetContent(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

// The request body as a JSON object; an empty body counts as {} (Triton's repository
// requests may have none).
json OptionalJsonBody(const HttpRequest& req) {
  if (req.body.empty()) return json::object();
  json body = ParseJsonBody(req.body, "the request");
  if (!body.is_object()) ThrowInvalidArgument("the request must be a JSON object");
  return body;
}

std::vector<int64_t> ReadyVersions(const runtime::ModelRepository& repository, const std::string& model) {
  std::vector<int64_t> versions;
  for (const auto& s : repository.Index()) {
    if (s.name == model && s.state == runtime::ModelState::kReady) versions.push_back(s.version);
  }
  std::sort(versions.begin(), versions.end());
  return versions;
}

// Throws kNotFound unless the repository knows the model (and the version, when given).
void RequireKnown(const runtime::ModelRepository& repository, const ModelRef& ref) {
  bool model_known = false;
  for (const auto& s : repository.Index()) {
    if (s.name != ref.name) continue;
    model_known = true;
    if (ref.version == 0 || s.version == ref.version) return;
  }
  if (!model_known) throw Error(ErrorCode::kNotFound, "unknown model '" + ref.name + "'");
  throw Error(ErrorCode::kNotFound, "model '" + ref.name + "' has no version " + std::to_string(ref.version));
}

// KServe's health answers: "a 200 status code indicates true and a 4xx status code
// indicates false". Triton answers 400 for "not ready", and so do we: a 503 would tell a
// client the server failed rather than that the answer is no.
void HandleModelReady(const HttpRequest& req, HttpResponse&, RouteContext& ctx, RequestInfo&) {
  const ModelRef ref = RefFrom(req);
  if (ctx.repository.IsReady(ref.name, ref.version)) return;  // 200, empty body as in Triton
  RequireKnown(ctx.repository, ref);                           // 404 for an unknown model or version
  ThrowInvalidArgument("model '" + ref.name + "'" + (ref.version ? " version " + std::to_string(ref.version) : "") +
                       " is not ready");
}

// Server readiness: 400 with an empty body when some model has no ready version, as Triton.
void HandleServerReady(const HttpRequest&, HttpResponse& res, RouteContext& ctx, RequestInfo&) {
  if (!ctx.repository.AllReady()) res.status = 400;
}

void HandleModelMetadata(const HttpRequest& req, HttpResponse& res, RouteContext& ctx, RequestInfo& info) {
  const ModelRef ref = RefFrom(req);
  const auto served = FindModelFor(ctx, info, ref.name, ref.version);
  const auto versions = ref.version ? std::vector<int64_t>{ref.version} : ReadyVersions(ctx.repository, ref.name);
  SetJson(res, ModelMetadata(ref.name, versions, PlatformOf(served->config(), served->family()), served->kserve_inputs(),
                             served->kserve_outputs()));
}

void HandleModelConfig(const HttpRequest& req, HttpResponse& res, RouteContext& ctx, RequestInfo& info) {
  const ModelRef ref = RefFrom(req);
  SetJson(res, ModelConfigJson(FindModelFor(ctx, info, ref.name, ref.version)->config(), ref.name));
}

// Statistics of the ready versions of one model (all of them without a version in the
// path), or of every model when `ref` is empty.
void HandleStats(const ModelRef* ref, HttpResponse& res, RouteContext& ctx) {
  json entries = json::array();
  if (ref && ref->version) {
    const auto served = ctx.repository.Find(ref->name, ref->version);
    entries.push_back(ModelStatsJson(ref->name, ref->version, served->Stats()));
  } else {
    if (ref) RequireKnown(ctx.repository, *ref);
    for (const auto& s : ctx.repository.Index()) {
      if ((ref && s.name != ref->name) || s.state != runtime::ModelState::kReady) continue;
      try {
        entries.push_back(ModelStatsJson(s.name, s.version, ctx.repository.Find(s.name, s.version)->Stats()));
      } catch (const Error&) {
        // unloaded between Index() and Find(): it has no statistics any more
      }
    }
  }
  SetJson(res, {{"model_stats", std::move(entries)}});
}

// Runs the model on the request's inputs, computing only what the requested outputs need.
std::map<std::string, Matrix> Infer(runtime::ClipServedModel& model, const InferRequest& request) {
  const bool need_scores = request.Wants(kLogitsPerImageOutput) || request.Wants(kProbsOutput);
  const bool need_images = need_scores || request.Wants(kImageEmbedsOutput);
  const bool need_texts = need_scores || request.Wants(kTextEmbedsOutput);
  std::vector<std::string_view> images;
  if (need_images) images.assign(request.images->begin(), request.images->end());
  auto to_matrix = [](models::Embeddings& e) { return Matrix{e.count, e.dim, std::move(e.values)}; };

  std::map<std::string, Matrix> results;
  if (need_images && need_texts) {
    auto joint = model.EmbedBoth(images, *request.texts, request.timeout);
    const auto n_texts = static_cast<int64_t>(request.texts->size());
    results[kLogitsPerImageOutput] = MatrixFromRows(joint.logits, n_texts);
    results[kProbsOutput] = MatrixFromRows(joint.probs, n_texts);
    results[kImageEmbedsOutput] = to_matrix(joint.images);
    results[kTextEmbedsOutput] = to_matrix(joint.texts);
  } else if (need_images) {
    auto e = model.EmbedImages(images, request.timeout);
    results[kImageEmbedsOutput] = to_matrix(e);
  } else if (need_texts) {
    auto e = model.EmbedTexts(*request.texts, request.timeout);
    results[kTextEmbedsOutput] = to_matrix(e);
  }
  return results;
}

void HandleInfer(const HttpRequest& req, HttpResponse& res, RouteContext& ctx, RequestInfo& info) {
  const ModelRef ref = RefFrom(req);
  const auto model = FindModelFor(ctx, info, ref.name, ref.version);  // unknown model: 404 before any parsing
  if (auto* generator = model->AsGenerator(); generator && generator->speech()) {
    HandleKServeAudioInfer(req, res, ctx, info, *model);
    return;
  }
  std::optional<std::string> header_length;
  if (const auto h = req.Header(kHeaderLengthHeader)) header_length = std::string(*h);
  const InferRequest request = ParseInferRequest(req.body, header_length, ctx.limits);
  InferResponseBody out = EncodeInferResponse(request, model->name(), model->version(), Infer(RequireClip(*model), request));
  if (out.has_binary) res.SetHeader(kHeaderLengthHeader, std::to_string(out.json_length));
  res.SetContent(std::move(out.body), out.has_binary ? "application/octet-stream" : "application/json");
}

void HandleRepositoryIndex(const HttpRequest& req, HttpResponse& res, RouteContext& ctx, RequestInfo&) {
  const json body = OptionalJsonBody(req);
  bool ready_only = false;
  if (const auto ready = body.find("ready"); ready != body.end()) {
    if (!ready->is_boolean()) ThrowInvalidArgument("\"ready\" must be true or false");
    ready_only = ready->get<bool>();
  }
  SetJson(res, RepositoryIndexJson(ctx.repository.Index(), ready_only));
}

void HandleLoad(const HttpRequest& req, HttpResponse&, RouteContext& ctx, RequestInfo&) {
  const json body = OptionalJsonBody(req);
  if (const auto params = body.find("parameters"); params != body.end() && params->is_object()) {
    for (const auto& [key, value] : params->items()) {
      // Triton lets a load request carry a config or model files; mmserve reads them from disk only.
      if (key == "config" || key.rfind("file:", 0) == 0) {
        ThrowInvalidArgument("load parameter \"" + key + "\" is not supported; put the files in the repository");
      }
    }
  }
  ctx.repository.Load(req.PathParam(0));  // 200 with an empty body, as Triton answers
}

void HandleUnload(const HttpRequest& req, HttpResponse&, RouteContext& ctx, RequestInfo&) {
  OptionalJsonBody(req);  // validated; unload_dependents has no meaning without ensembles
  ctx.repository.Unload(req.PathParam(0));
}

}  // namespace

void RegisterKServeRoutes(Router& router, RouteContext& ctx) {
  // Each handler gets the request id, log line, access check and {"error":...} bodies from
  // the dispatcher. Routes whose path names a model (the first path parameter) check that
  // the caller may use it before the handler runs; routes over all models need an
  // unrestricted caller; repository control needs an administrator.
  using Handler = void (*)(const HttpRequest&, HttpResponse&, RouteContext&, RequestInfo&);
  enum class Scope { kNamedModel, kAllModels, kAdmin, kNone };
  auto add = [&router, &ctx](const char* method, const std::string& pattern, Handler handler,
                             Scope scope = Scope::kNamedModel, RouteAccess access = RouteAccess::kProtected,
                             RouteExecution execution = RouteExecution::kWorker) -> Route& {
    return router.Add(method, pattern, [handler, scope, &ctx](const HttpRequest& req, HttpResponse& res, RequestInfo& info) {
      if (scope == Scope::kNamedModel) info.principal.RequireModel(req.PathParam(0));
      if (scope == Scope::kAllModels && info.principal.models) {
        throw Error(ErrorCode::kPermissionDenied, "client \"" + info.principal.client +
                                                      "\" may only use some models; name one in the path");
      }
      if (scope == Scope::kAdmin) info.principal.RequireAdmin();
      handler(req, res, ctx, info);
    }, ErrorBody, access, execution);
  };
  constexpr auto kOpen = RouteAccess::kOpen;
  constexpr auto kProtected = RouteAccess::kProtected;
  constexpr auto kInline = RouteExecution::kInline;

  add("GET", "/v2", [](const HttpRequest&, HttpResponse& res, RouteContext&, RequestInfo&) {
    SetJson(res, ServerMetadata());
  }, Scope::kNone, kOpen, kInline);
  add("GET", "/v2/health/live", [](const HttpRequest&, HttpResponse&, RouteContext&, RequestInfo&) {},
      Scope::kNone, kOpen, kInline);
  add("GET", "/v2/health/ready", HandleServerReady, Scope::kNone, kOpen, kInline);
  // Before the model routes, whose pattern would take "stats" for a model name.
  add("GET", "/v2/models/stats", [](const HttpRequest&, HttpResponse& res, RouteContext& c, RequestInfo&) {
    HandleStats(nullptr, res, c);
  }, Scope::kAllModels, kProtected, kInline);
  for (const std::string model_path : kModelPaths) {
    add("GET", model_path, HandleModelMetadata, Scope::kNamedModel, kProtected, kInline);
    add("GET", model_path + "/ready", HandleModelReady, Scope::kNamedModel, kProtected, kInline);
    add("GET", model_path + "/config", HandleModelConfig, Scope::kNamedModel, kProtected, kInline);
    add("GET", model_path + "/stats", [](const HttpRequest& req, HttpResponse& res, RouteContext& c, RequestInfo&) {
      const ModelRef ref = RefFrom(req);
      HandleStats(&ref, res, c);
    }, Scope::kNamedModel, kProtected, kInline);
    add("POST", model_path + "/infer", HandleInfer);
  }
  // Repository requests carry a few options at most: a small body limit keeps a 15 MB
  // JSON list from costing half a gigabyte once parsed. Loading reads a checkpoint from
  // disk for seconds: on a worker, never on the connection thread.
  constexpr size_t kControlBodyBytes = 64 * 1024;
  add("POST", "/v2/repository/index", HandleRepositoryIndex, Scope::kAdmin).max_body_bytes = kControlBodyBytes;
  add("POST", "/v2/repository/models/{model}/load", HandleLoad, Scope::kAdmin).max_body_bytes = kControlBodyBytes;
  add("POST", "/v2/repository/models/{model}/unload", HandleUnload, Scope::kAdmin).max_body_bytes = kControlBodyBytes;
}

}  // namespace mms::api
