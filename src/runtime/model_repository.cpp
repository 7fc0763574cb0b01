#include "runtime/model_repository.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "base/error.h"
#include "models/model_family.h"

namespace mms::runtime {

namespace fs = std::filesystem;

const char* ModelStateName(ModelState state) { return state == ModelState::kReady ? "READY" : "UNAVAILABLE"; }

std::vector<int64_t> ListVersions(const std::string& model_dir) {
  std::vector<int64_t> versions;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(model_dir, ec)) {
    if (!entry.is_directory()) continue;
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.size() > 18 || name.find_first_not_of("0123456789") != std::string::npos) continue;
    const int64_t v = std::stoll(name);
    if (v > 0) versions.push_back(v);
  }
  std::sort(versions.begin(), versions.end());
  return versions;
}

ModelRepository::ModelRepository(RepositoryOptions options, Logger& logger)
    : options_(std::move(options)), logger_(logger) {}

void ModelRepository::LoadAll() {
  std::error_code ec;
  if (!fs::is_directory(options_.root, ec)) {
    throw Error(ErrorCode::kNotFound, "model repository " + options_.root + " is not a directory");
  }
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(options_.root, ec)) {
    if (entry.is_directory() && entry.path().filename().string()[0] != '.') names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    const std::string model_dir = options_.root + "/" + name;
    const auto versions = ListVersions(model_dir);
    LoadedVersion loaded;
    loaded.status.name = name;
    if (versions.empty()) {
      loaded.status.reason = model_dir + " has no version folder (expected " + model_dir + "/1/)";
      logger_.Error("model unavailable", {{"model", name}, {"reason", loaded.status.reason}});
      std::lock_guard<std::mutex> lock(mutex_);
      models_[name][0] = loaded;
      continue;
    }
    const int64_t version = versions.back();
    loaded.status.version = version;
    const std::string dir = model_dir + "/" + std::to_string(version);
    const auto start = std::chrono::steady_clock::now();
    try {
      const models::ModelFamily family = models::DetectModelFamily(dir);
      (void)family;  // one family today; the registry in model_family.cpp grows with the next
      loaded.pipeline = models::ClipPipeline::Load(dir, options_.clip);
      loaded.status.state = ModelState::kReady;
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
      logger_.Info("model loaded", {{"model", name}, {"version", version}, {"load_ms", ms}});
    } catch (const std::exception& e) {
      loaded.status.reason = e.what();
      logger_.Error("model failed to load", {{"model", name}, {"version", version}, {"reason", e.what()}});
    }
    std::lock_guard<std::mutex> lock(mutex_);
    models_[name][version] = loaded;
  }
}

std::shared_ptr<const models::ClipPipeline> ModelRepository::Find(const std::string& model, int64_t version) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = models_.find(model);
  if (it == models_.end()) throw Error(ErrorCode::kNotFound, "unknown model \"" + model + "\"");
  if (version == 0) {
    for (auto v = it->second.rbegin(); v != it->second.rend(); ++v) {
      if (v->second.status.state == ModelState::kReady) return v->second.pipeline;
    }
    const auto& any = it->second.rbegin()->second.status;
    throw Error(ErrorCode::kUnavailable, "model \"" + model + "\" is not ready: " + any.reason);
  }
  auto v = it->second.find(version);
  if (v == it->second.end()) {
    throw Error(ErrorCode::kNotFound, "model \"" + model + "\" has no version " + std::to_string(version));
  }
  if (v->second.status.state != ModelState::kReady) {
    throw Error(ErrorCode::kUnavailable, "model \"" + model + "\" version " + std::to_string(version) +
                                             " is not ready: " + v->second.status.reason);
  }
  return v->second.pipeline;
}

std::string ModelRepository::DefaultModel() const {
  if (!options_.default_model.empty()) return options_.default_model;
  std::lock_guard<std::mutex> lock(mutex_);
  if (models_.size() == 1) return models_.begin()->first;
  throw Error(ErrorCode::kNotFound, models_.empty() ? "the model repository holds no model"
                                                    : "several models are loaded; start the server with --default-model NAME");
}

std::vector<ModelVersionStatus> ModelRepository::Index() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<ModelVersionStatus> out;
  for (const auto& [name, versions] : models_) {
    for (const auto& [v, loaded] : versions) out.push_back(loaded.status);
  }
  return out;
}

bool ModelRepository::AllReady() const {
  for (const auto& s : Index()) {
    if (s.state != ModelState::kReady) return false;
  }
  return true;
}

}  // namespace mms::runtime
