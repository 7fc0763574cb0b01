// KServe v2 inference protocol as Triton serves it over HTTP: health, server and model
// metadata, model readiness, config, statistics, inference (JSON and binary tensor data)
// and the model repository extension (index, load, unload). Errors answer
// {"error":"..."} with the status from error_mapping.
#pragma once

#include "api/request_handler.h"

namespace mms::api {

void RegisterKServeRoutes(Router& router, RouteContext& context);

}  // namespace mms::api
