// The JSON bodies of KServe v2 / Triton's non-inference endpoints (server and model
// metadata, model config, statistics, repository index), built from plain values so that
// they can be tested without a server or a loaded model.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "io/model_config.h"
#include "runtime/model_repository.h"
#include "runtime/served_model.h"

namespace mms::api::kserve {

// {"error":"<message>"}: Triton's error body, for every KServe route.
std::string ErrorBody(int http_status, const std::string& message);

// A version from a URL path: a positive decimal integer, else Error(kInvalidArgument).
int64_t ParseVersion(std::string_view text);

// GET /v2: {name:"mmserve", version, extensions:[...]}.
nlohmann::json ServerMetadata();

// GET /v2/models/{m}: the model's tensor signature, with `versions` as strings.
// `platform` is the backend named in config.pbtxt, or "mmserve_<family>".
nlohmann::json ModelMetadata(const std::string& name, const std::vector<int64_t>& versions, const std::string& platform,
                             const std::vector<runtime::TensorSpec>& inputs,
                             const std::vector<runtime::TensorSpec>& outputs);
std::string PlatformOf(const io::ModelConfig& config, const std::string& family);

// GET /v2/models/{m}/config: the served config with the model's name filled in.
nlohmann::json ModelConfigJson(const io::ModelConfig& config, const std::string& name);

// One element of "model_stats" (Triton's statistics extension).
nlohmann::json ModelStatsJson(const std::string& name, int64_t version, const runtime::ModelStats& stats);

// POST /v2/repository/index: [{name, version, state, reason}], only READY ones if ready_only.
// A model with no version on disk (version 0) has no "version" field.
nlohmann::json RepositoryIndexJson(const std::vector<runtime::ModelVersionStatus>& index, bool ready_only);

}  // namespace mms::api::kserve
