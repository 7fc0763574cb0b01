// What every route module needs: the models, the limits, the logger. Passed by
// reference to each Register*Routes function; owned by the server.
#pragma once

#include "api/input_limits.h"
#include "base/logger.h"
#include "runtime/model_repository.h"

namespace mms::api {

struct RouteContext {
  runtime::ModelRepository& repository;
  const InputLimits& limits;
  Logger& logger;
};

}  // namespace mms::api
