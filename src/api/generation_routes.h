// The generation routes: OpenAI's /v1/completions and /v1/chat/completions (streaming and
// not), /tokenize and /detokenize, and KServe's generate extension
// (/v2/models/{m}[/versions/{v}]/generate and generate_stream). Each turns its request into
// prompt ids and a GenerationApiRequest and runs a GenerationSession; the API's shape is
// its formatter.
#pragma once

#include "api/request_handler.h"

namespace mms::api {

void RegisterGenerationRoutes(Router& router, RouteContext& ctx);

}  // namespace mms::api
