// The simple API: POST /predict (multipart: `image` file + `texts` JSON list) and GET /health.
#pragma once

#include "api/request_handler.h"

namespace mms::api {

void RegisterPredictRoutes(Router& router, RouteContext& context);

}  // namespace mms::api
