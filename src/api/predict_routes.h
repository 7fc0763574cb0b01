// The simple API: POST /predict (multipart: `image` file + `texts` JSON list) and GET /health.
#pragma once

#include "api/route_context.h"

namespace httplib {
class Server;
}

namespace mms::api {

void RegisterPredictRoutes(httplib::Server& server, RouteContext& context);

}  // namespace mms::api
