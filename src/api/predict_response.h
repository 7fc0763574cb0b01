#pragma once

#include <string>
#include <vector>

#include "models/clip/clip_pipeline.h"

namespace mms::api {

// The body of a successful /predict (and of `mmserve predict`):
// {"status":"success","results":[{"text":...,"score":...},...]} in the order given.
std::string PredictResponseJson(const std::vector<models::LabelScore>& scores);

}  // namespace mms::api
