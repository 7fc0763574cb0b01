#include "api/kserve_metadata.h"

#include <charconv>

#include "api/kserve_codec.h"
#include "base/error.h"

namespace mms::api::kserve {

namespace {

using nlohmann::json;

// Kept in step with project(VERSION) in CMakeLists.txt.
constexpr char kServerVersion[] = "0.1.0";

json Duration(const runtime::DurationStat& d) { return {{"count", d.count}, {"ns", d.ns}}; }

json Tensor(const std::string& name, const std::string& datatype, std::vector<int64_t> shape) {
  return {{"name", name}, {"datatype", datatype}, {"shape", std::move(shape)}};
}

}  // namespace

std::string ErrorBody(int, const std::string& message) {
  return json{{"error", message}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

int64_t ParseVersion(std::string_view text) {
  int64_t v = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || r.ec != std::errc() || r.ptr != text.data() + text.size() || v <= 0) {
    ThrowInvalidArgument("model version '" + std::string(text) + "' is not a positive integer");
  }
  return v;
}

json ServerMetadata() {
  return {{"name", "mmserve"},
          {"version", kServerVersion},
          {"extensions", {"binary_tensor_data", "model_repository", "model_configuration", "statistics"}}};
}

std::string PlatformOf(const io::ModelConfig& config, const std::string& family) {
  return config.backend.empty() ? "mmserve_" + family : config.backend;
}

json ModelMetadata(const std::string& name, const std::vector<int64_t>& versions, const std::string& platform,
                   const std::vector<runtime::TensorSpec>& inputs, const std::vector<runtime::TensorSpec>& outputs) {
  json version_names = json::array();
  for (int64_t v : versions) version_names.push_back(std::to_string(v));
  const auto tensors = [](const std::vector<runtime::TensorSpec>& specs) {
    json list = json::array();
    for (const auto& t : specs) list.push_back(Tensor(t.name, t.datatype, t.shape));
    return list;
  };
  return {{"name", name},
          {"versions", std::move(version_names)},
          {"platform", platform},
          {"inputs", tensors(inputs)},
          {"outputs", tensors(outputs)}};
}

json ModelConfigJson(const io::ModelConfig& config, const std::string& name) {
  json j = io::ModelConfigToJson(config);
  j["name"] = name;  // config.pbtxt may leave it out; Triton always reports it
  return j;
}

json ModelStatsJson(const std::string& name, int64_t version, const runtime::ModelStats& stats) {
  json batches = json::array();
  for (const auto& b : stats.batch_stats) {
    batches.push_back({{"batch_size", b.batch_size}, {"compute_infer", Duration(b.compute_infer)}});
  }
  return {{"name", name},
          {"version", std::to_string(version)},
          {"last_inference", stats.last_inference_ms},
          {"inference_count", stats.inference_count},
          {"execution_count", stats.execution_count},
          {"inference_stats",
           {{"success", Duration(stats.success)},
            {"fail", Duration(stats.fail)},
            {"queue", Duration(stats.queue)},
            {"compute_input", Duration(stats.compute_input)},
            {"compute_infer", Duration(stats.compute_infer)},
            {"compute_output", Duration(stats.compute_output)},
            {"cache_hit", Duration(stats.cache_hit)},
            {"cache_miss", Duration(stats.cache_miss)}}},
          {"batch_stats", std::move(batches)}};
}

json RepositoryIndexJson(const std::vector<runtime::ModelVersionStatus>& index, bool ready_only) {
  json out = json::array();
  for (const auto& s : index) {
    if (ready_only && s.state != runtime::ModelState::kReady) continue;
    json entry = {{"name", s.name}};
    if (s.version > 0) entry["version"] = std::to_string(s.version);
    entry["state"] = runtime::ModelStateName(s.state);
    entry["reason"] = s.reason;
    out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace mms::api::kserve
