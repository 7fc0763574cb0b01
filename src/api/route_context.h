// What every route module needs: the models, the limits, the logger, the metrics. Passed
// by reference to each Register*Routes function; owned by the server.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "api/access_control.h"
#include "api/input_limits.h"
#include "base/logger.h"
#include "runtime/metrics.h"
#include "runtime/clip_served_model.h"
#include "runtime/model_repository.h"

namespace mms::runtime {
class SpeechService;
}

namespace mms::api {

class ImageSource;

struct RouteContext {
  runtime::ModelRepository& repository;
  const InputLimits& limits;
  Logger& logger;
  AccessControl& access;
  runtime::Metrics& metrics;
  const ImageSource& images;  // where chat requests' image URLs may be fetched from
};

// One request as WrapRoute sees it: routes read the caller and say which model served it.
struct RequestInfo {
  std::string request_id;
  Principal principal;  // who is calling (anonymous when authentication is off)
  // The model version the request resolved to, for its log line and metrics; empty and 0
  // until a route finds one (a name the repository does not know is never recorded here).
  std::string model;
  int64_t version = 0;
  // Numbers the route adds to the request's log line (a generation's token counts and
  // time to first token). A streamed response sets them on its ResponseStream instead.
  std::map<std::string, double> log_fields;
};

// The model version a request names, after checking that the caller may use it: every
// route that resolves a model goes through here, so permissions are checked in one place,
// and the version found is recorded in `info`.
std::shared_ptr<runtime::ServedModel> FindModelFor(RouteContext& ctx, RequestInfo& info, const std::string& name,
                                                   int64_t version = 0);

// The capability a route needs, or 400 naming the model and what it is for.
runtime::ClipServedModel& RequireClip(runtime::ServedModel& model);
runtime::GenerativeServedModel& RequireGenerator(runtime::ServedModel& model);
// A model that transcribes audio (Whisper), or 400 naming the model.
runtime::SpeechService& RequireSpeech(runtime::ServedModel& model);

}  // namespace mms::api
