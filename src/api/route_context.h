// What every route module needs: the models, the limits, the logger. Passed by
// reference to each Register*Routes function; owned by the server.
#pragma once

#include "api/access_control.h"
#include "api/input_limits.h"
#include "base/logger.h"
#include "runtime/model_repository.h"

namespace mms::api {

struct RouteContext {
  runtime::ModelRepository& repository;
  const InputLimits& limits;
  Logger& logger;
  AccessControl& access;
};

// The model version a request names, after checking that the caller may use it: every
// route that resolves a model goes through here, so permissions are checked in one place.
std::shared_ptr<runtime::ServedModel> FindModelFor(RouteContext& ctx, const Principal& caller, const std::string& name,
                                                   int64_t version = 0);

}  // namespace mms::api
