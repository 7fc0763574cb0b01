// OpenAI's audio routes: POST /v1/audio/transcriptions and /v1/audio/translations
// (multipart upload, every response_format, server-sent events with stream=true), for
// models that listen (Whisper). KServe's /v2/models/{m}/infer with an AUDIO input is
// answered here too (kserve_routes hands such models over).
#pragma once

#include "api/request_handler.h"

namespace mms::api {

void RegisterAudioRoutes(Router& router, RouteContext& ctx);

// KServe v2 inference on a listening model: one AUDIO BYTES element (base64 in JSON, raw
// with the binary extension) -> TEXT and SEGMENTS (JSON) outputs.
void HandleKServeAudioInfer(const HttpRequest& req, HttpResponse& res, RouteContext& ctx, RequestInfo& info,
                            runtime::ServedModel& model);

}  // namespace mms::api
