// The OpenAI-compatible API, so that OpenAI's client libraries (and tools built on them)
// can use mmserve's CLIP models for embeddings:
//   GET  /v1/models          the models that have a ready version
//   GET  /v1/models/{id}     one of them
//   POST /v1/embeddings      text and image embeddings (see openai_codec.h for the inputs)
// Errors answer in OpenAI's shape: {"error":{"message","type","param","code"}}.
#pragma once

#include "api/request_handler.h"

namespace mms::api {

void RegisterOpenAIRoutes(Router& router, RouteContext& context);

}  // namespace mms::api
