// KServe v2 inference protocol as Triton serves it over HTTP: health, server and model
// metadata, model readiness, config, statistics, inference (JSON and binary tensor data)
// and the model repository extension (index, load, unload). Errors answer
// {"error":"..."} with the status from error_mapping.
#pragma once

#include "api/route_context.h"

namespace httplib {
class Server;
}

namespace mms::api {

void RegisterKServeRoutes(httplib::Server& server, RouteContext& context);

}  // namespace mms::api
