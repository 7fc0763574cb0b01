#include "runtime/model_repository.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <set>

#include "base/error.h"
#include "base/file_util.h"
#include "models/model_family.h"
#include "runtime/memory_budget.h"

namespace mms::runtime {

namespace fs = std::filesystem;

ControlMode ParseControlMode(const std::string& name) {
  if (name == "none") return ControlMode::kNone;
  if (name == "poll") return ControlMode::kPoll;
  if (name == "explicit") return ControlMode::kExplicit;
  ThrowInvalidArgument("unknown model control mode \"" + name + "\" (none, poll, explicit)");
}

const char* ModelStateName(ModelState state) {
  switch (state) {
    case ModelState::kLoading: return "LOADING";
    case ModelState::kReady: return "READY";
    case ModelState::kUnavailable: return "UNAVAILABLE";
    case ModelState::kUnloading: return "UNLOADING";
  }
  return "UNAVAILABLE";
}

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

namespace {

std::vector<std::string> ModelFolders(const std::string& root) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory() && !name.empty() && name[0] != '.') names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Which of the versions on disk the policy wants served.
std::vector<int64_t> WantedVersions(const io::VersionPolicy& policy, const std::vector<int64_t>& on_disk) {
  switch (policy.kind) {
    case io::VersionPolicy::Kind::kAll: return on_disk;
    case io::VersionPolicy::Kind::kSpecific: return policy.versions;
    case io::VersionPolicy::Kind::kLatest: {
      const size_t n = std::min<size_t>(on_disk.size(), static_cast<size_t>(policy.num_versions));
      return std::vector<int64_t>(on_disk.end() - n, on_disk.end());
    }
  }
  return {};
}

}  // namespace

ModelRepository::ModelRepository(RepositoryOptions options, Logger& logger)
    : options_(std::move(options)), logger_(logger) {
  options_.defaults.logger = &logger_;
}

ModelRepository::~ModelRepository() { Stop(std::chrono::milliseconds(5000)); }

void ModelRepository::Start() {
  std::error_code ec;
  if (!fs::is_directory(options_.root, ec)) {
    throw Error(ErrorCode::kNotFound, "model repository " + options_.root + " is not a directory");
  }
  if (options_.control_mode == ControlMode::kExplicit) {
    for (const auto& name : options_.startup_models) {
      if (!fs::is_directory(options_.root + "/" + name)) {
        logger_.Error("--load-model names no model folder", {{"model", name}, {"repository", options_.root}});
        continue;
      }
      Sync(name, true);
    }
    return;
  }
  Poll();
  if (options_.control_mode == ControlMode::kPoll) poll_thread_ = std::thread([this] { PollLoop(); });
}

void ModelRepository::Stop(std::chrono::milliseconds deadline) {
  {
    std::lock_guard<std::mutex> lock(poll_mutex_);
    stopping_ = true;
  }
  poll_cv_.notify_all();
  if (poll_thread_.joinable()) poll_thread_.join();
  std::vector<std::shared_ptr<ServedModel>> loaded;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [name, entry] : models_) {
      for (auto& [v, version] : entry.versions) {
        if (version.model) loaded.push_back(version.model);
      }
    }
  }
  for (auto& m : loaded) m->Shutdown(deadline);
}

void ModelRepository::PollLoop() {
  std::unique_lock<std::mutex> lock(poll_mutex_);
  while (!stopping_) {
    poll_cv_.wait_for(lock, std::chrono::seconds(std::max(1, options_.poll_seconds)));
    if (stopping_) break;
    lock.unlock();
    try {
      Poll();
    } catch (const std::exception& e) {
      logger_.Error("repository poll failed", {{"reason", e.what()}});
    }
    lock.lock();
  }
}

void ModelRepository::Poll() {
  const auto on_disk = ModelFolders(options_.root);
  for (const auto& name : on_disk) Sync(name, false);
  // Models whose folder is gone are removed; requests holding them finish first.
  std::lock_guard<std::mutex> sync_lock(sync_mutex_);
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto it = models_.begin(); it != models_.end();) {
    if (std::find(on_disk.begin(), on_disk.end(), it->first) == on_disk.end()) {
      logger_.Info("model removed from the repository", {{"model", it->first}});
      it = models_.erase(it);
    } else {
      ++it;
    }
  }
}

void ModelRepository::Sync(const std::string& name, bool force_reload) {
  std::lock_guard<std::mutex> sync_lock(sync_mutex_);
  const std::string model_dir = options_.root + "/" + name;
  const std::string config_path = model_dir + "/config.pbtxt";

  // The model's config: config.pbtxt, or one made from the server's defaults.
  io::ModelConfig config;
  std::string fingerprint, config_error;
  if (FileExists(config_path)) {
    try {
      fingerprint = ReadFileBytes(config_path);
      config = io::ParseModelConfig(fingerprint, config_path);
      if (!config.name.empty() && config.name != name) {
        ThrowInvalidModel(config_path + ": name \"" + config.name + "\" does not match the folder name \"" + name + "\"");
      }
      if (!config.backend.empty()) models::ParseModelFamily(config.backend);
    } catch (const std::exception& e) {
      config_error = e.what();
    }
  } else {
    config.name = name;
    config.max_batch_size = options_.defaults.max_batch_size;
    if (options_.defaults.dynamic_batching) {
      io::DynamicBatching batching;
      batching.max_queue_delay_microseconds = options_.defaults.max_queue_delay.count();
      config.dynamic_batching = batching;
    }
  }

  std::map<int64_t, VersionEntry> current;
  bool config_changed;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = models_.find(name);
    if (it != models_.end()) current = it->second.versions;
    config_changed = it == models_.end() || it->second.config_fingerprint != fingerprint;
  }
  const bool reload_all = force_reload || config_changed;

  // While a copy of the model serves, a new one loads beside it (the old one drains after
  // the swap), so each load must find room for a second copy.
  const bool any_serving = std::any_of(current.begin(), current.end(), [](const auto& e) { return e.second.model != nullptr; });
  std::map<int64_t, VersionEntry> next;
  if (!config_error.empty()) {
    VersionEntry e;
    e.status = {name, 0, ModelState::kUnavailable, config_error};
    next[0] = e;
    logger_.Error("model config invalid", {{"model", name}, {"reason", config_error}});
  } else {
    const auto on_disk = ListVersions(model_dir);
    const auto wanted = WantedVersions(config.version_policy, on_disk);
    if (wanted.empty()) {
      VersionEntry e;
      e.status = {name, 0, ModelState::kUnavailable, model_dir + " has no version folder to serve (expected " + model_dir + "/1/)"};
      next[0] = e;
      logger_.Error("model unavailable", {{"model", name}, {"reason", e.status.reason}});
    }
    for (int64_t v : wanted) {
      auto old = current.find(v);
      if (!reload_all && old != current.end() && old->second.model) {
        next[v] = old->second;  // unchanged and serving: keep it
        continue;
      }
      VersionEntry e;
      e.status = {name, v, ModelState::kUnavailable, ""};
      const std::string dir = model_dir + "/" + std::to_string(v);
      const auto start = std::chrono::steady_clock::now();
      try {
        if (std::find(on_disk.begin(), on_disk.end(), v) == on_disk.end()) {
          ThrowInvalidModel("version " + std::to_string(v) + " named by version_policy has no folder " + dir);
        }
        if (config.backend.empty()) models::DetectModelFamily(dir);  // refuses families we do not serve
        if (any_serving) CheckRoomForSecondCopy(name, v, dir, config);
        e.model = ServedModel::Load(name, v, dir, config, options_.defaults);
        e.status.state = ModelState::kReady;
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
        e.status.load_seconds = ms / 1000;
        if (const std::string note = e.model->precision_note(); !note.empty()) {
          logger_.Warning("model precision fell back", {{"model", name}, {"version", v}, {"reason", note}});
        }
        logger_.Info("model loaded", {{"model", name}, {"version", v}, {"load_ms", ms}, {"family", e.model->family()},
                                      {"precision", e.model->precision_name()}});
      } catch (const std::exception& e2) {
        e.status.reason = e2.what();
        logger_.Error("model failed to load", {{"model", name}, {"version", v}, {"reason", e2.what()}});
      }
      next[v] = e;
    }
  }
  KeepServingWhatFailedToReplace(name, model_dir, current, next);
  for (const auto& [v, old] : current) {
    if (old.model && (next.find(v) == next.end() || next[v].model != old.model)) {
      logger_.Info("model version unloading", {{"model", name}, {"version", v}});
    }
  }
  // Swap in one step: a request sees either the old set of versions or the new one. The
  // replaced versions drain as their last requests let go of them.
  std::lock_guard<std::mutex> lock(mutex_);
  ModelEntry& entry = models_[name];
  entry.config_fingerprint = fingerprint;
  entry.versions = std::move(next);
}

// A reload or a new version that fails must not take down what was serving: a version
// whose reload failed keeps its loaded model (its status says the reload failed), and
// when no wanted version could be loaded, the versions that were serving stay (the new
// ones are listed as unavailable beside them). Versions whose folder is gone still go.
void ModelRepository::KeepServingWhatFailedToReplace(const std::string& name, const std::string& model_dir,
                                                     const std::map<int64_t, VersionEntry>& current,
                                                     std::map<int64_t, VersionEntry>& next) {
  const auto still_on_disk = [&](int64_t v) { return fs::is_directory(model_dir + "/" + std::to_string(v)); };
  for (auto& [v, entry] : next) {
    auto old = current.find(v);
    if (entry.model || old == current.end() || !old->second.model || !still_on_disk(v)) continue;
    logger_.Warning("reload failed; the loaded version keeps serving",
                    {{"model", name}, {"version", v}, {"reason", entry.status.reason}});
    const std::string reason = "reload failed, serving the previous load: " + entry.status.reason;
    entry = old->second;
    entry.status.reason = reason;
  }
  const bool any_ready = std::any_of(next.begin(), next.end(), [](const auto& e) { return e.second.model != nullptr; });
  if (any_ready) return;
  std::string failures;
  for (const auto& [v, entry] : next) failures += (failures.empty() ? "" : "; ") + entry.status.reason;
  for (const auto& [v, old] : current) {
    if (!old.model || !still_on_disk(v)) continue;
    logger_.Warning("nothing new could be loaded; the previous version keeps serving",
                    {{"model", name}, {"version", v}, {"reason", failures}});
    next.erase(0);  // the "nothing to serve" placeholder (a broken config.pbtxt), if any
    next[v] = old;
    next[v].status.reason = "serving the previous load; the change failed: " + failures;
  }
}

void ModelRepository::CheckRoomForSecondCopy(const std::string& name, int64_t version, const std::string& dir,
                                             const io::ModelConfig& config) const {
  const uint64_t need = ServedModel::MemoryToLoad(dir, config, options_.defaults);
  const uint64_t available = options_.available_memory ? options_.available_memory() : AvailableMemoryBytes();
  if (need <= available) return;
  const auto mb = [](uint64_t bytes) { return std::to_string(bytes >> 20) + " MB"; };
  throw Error(ErrorCode::kUnavailable,
              "not enough memory to load another copy of \"" + name + "\" version " + std::to_string(version) +
                  " next to the one serving: it needs " + mb(need) + " (its memory budget, else its weight files), " +
                  mb(available) + " are available (MemAvailable or the cgroup limit); the loaded copy keeps serving");
}

void ModelRepository::Load(const std::string& name) {
  if (options_.control_mode != ControlMode::kExplicit) {
    ThrowInvalidArgument("explicit model load is only allowed with --model-control-mode explicit");
  }
  if (name.empty() || name.find('/') != std::string::npos || name[0] == '.' || !fs::is_directory(options_.root + "/" + name)) {
    throw Error(ErrorCode::kNotFound, "no model folder \"" + name + "\" in the repository " + options_.root);
  }
  Sync(name, true);
  // Every version the policy wants must have loaded now; one that kept serving a previous
  // load after a failed reload (see KeepServingWhatFailedToReplace) is a failure too.
  std::string reasons;
  bool any_ready = false;
  for (const auto& s : Index()) {
    if (s.name != name) continue;
    any_ready |= s.state == ModelState::kReady;
    if (s.state != ModelState::kReady || !s.reason.empty()) reasons += (reasons.empty() ? "" : "; ") + s.reason;
  }
  if (reasons.empty() && any_ready) return;
  ThrowInvalidArgument("failed to load \"" + name + "\": " + reasons);
}

void ModelRepository::Unload(const std::string& name) {
  if (options_.control_mode != ControlMode::kExplicit) {
    ThrowInvalidArgument("explicit model unload is only allowed with --model-control-mode explicit");
  }
  std::lock_guard<std::mutex> sync_lock(sync_mutex_);
  std::lock_guard<std::mutex> lock(mutex_);
  // Requests holding a version finish with it; the version drains when they let go.
  if (models_.erase(name) == 0) throw Error(ErrorCode::kNotFound, "model \"" + name + "\" is not loaded");
  logger_.Info("model unloaded", {{"model", name}});
}

std::shared_ptr<ServedModel> ModelRepository::Find(const std::string& model, int64_t version) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = models_.find(model);
  if (it == models_.end()) throw Error(ErrorCode::kNotFound, "unknown model \"" + model + "\"");
  const auto& versions = it->second.versions;
  if (version == 0) {
    for (auto v = versions.rbegin(); v != versions.rend(); ++v) {
      if (v->second.model) return v->second.model;
    }
    const std::string reason = versions.empty() ? "no version" : versions.rbegin()->second.status.reason;
    throw Error(ErrorCode::kUnavailable, "model \"" + model + "\" is not ready: " + reason);
  }
  auto v = versions.find(version);
  if (v == versions.end()) {
    throw Error(ErrorCode::kNotFound, "model \"" + model + "\" has no version " + std::to_string(version));
  }
  if (!v->second.model) {
    throw Error(ErrorCode::kUnavailable, "model \"" + model + "\" version " + std::to_string(version) +
                                             " is not ready: " + v->second.status.reason);
  }
  return v->second.model;
}

bool ModelRepository::IsReady(const std::string& model, int64_t version) const {
  try {
    return Find(model, version)->healthy();
  } catch (const Error&) {
    return false;
  }
}

std::string ModelRepository::DefaultModel() const {
  if (!options_.default_model.empty()) return options_.default_model;
  std::lock_guard<std::mutex> lock(mutex_);
  if (models_.size() == 1) return models_.begin()->first;
  throw Error(ErrorCode::kNotFound, models_.empty() ? "the model repository holds no loaded model"
                                                    : "several models are loaded; start the server with --default-model NAME");
}

std::vector<ModelVersionStatus> ModelRepository::Index() const {
  std::vector<ModelVersionStatus> out;
  std::set<std::string> known;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [name, entry] : models_) {
      known.insert(name);
      for (const auto& [v, version] : entry.versions) {
        out.push_back(version.status);
        // A version whose breaker is open is loaded but not serving: say so.
        if (version.model && !version.model->healthy()) {
          out.back().state = ModelState::kUnavailable;
          out.back().reason = "circuit breaker open: its executions keep failing";
        }
      }
    }
  }
  // In explicit mode a model on disk that was never loaded is listed too, as Triton does.
  for (const auto& name : ModelFolders(options_.root)) {
    if (!known.count(name)) out.push_back({name, 0, ModelState::kUnavailable, "not loaded"});
  }
  std::sort(out.begin(), out.end(), [](const ModelVersionStatus& a, const ModelVersionStatus& b) {
    return a.name != b.name ? a.name < b.name : a.version < b.version;
  });
  return out;
}

bool ModelRepository::AllReady() const {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [name, entry] : models_) {
    bool any = false;
    for (const auto& [v, version] : entry.versions) any = any || (version.model && version.model->healthy());
    if (!any) return false;
  }
  return true;
}

std::vector<std::shared_ptr<ServedModel>> ModelRepository::Loaded() const {
  std::vector<std::shared_ptr<ServedModel>> loaded;
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [name, entry] : models_) {
    for (const auto& [v, version] : entry.versions) {
      if (version.model) loaded.push_back(version.model);
    }
  }
  return loaded;
}

void ModelRepository::Reload(const std::string& model) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!models_.count(model)) throw Error(ErrorCode::kNotFound, "model \"" + model + "\" is not loaded");
  }
  Sync(model, true);
}

}  // namespace mms::runtime
