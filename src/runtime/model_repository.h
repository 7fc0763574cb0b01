// A folder of models laid out as Triton's model repository:
//   ROOT/<model>/config.pbtxt   optional (name, backend, max_batch_size, version_policy,
//                               dynamic_batching, instance_group, parameters)
//   ROOT/<model>/<version>/     a Hugging Face checkpoint folder; version a positive integer
// The repository decides which versions to serve (version policy), loads them, records
// why one failed, and follows changes on disk (poll mode) or on request (explicit mode).
// A model that fails never stops the others. Requests hold a shared_ptr to the version
// they use, so unloading or reloading never cuts a request in flight: the old version
// drains and goes away when its last request finishes.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/logger.h"
#include "runtime/served_model.h"

namespace mms::runtime {

enum class ControlMode { kNone, kPoll, kExplicit };
ControlMode ParseControlMode(const std::string& name);  // none | poll | explicit

enum class ModelState { kLoading, kReady, kUnavailable, kUnloading };
const char* ModelStateName(ModelState state);  // Triton's words: LOADING, READY, UNAVAILABLE, UNLOADING

struct ModelVersionStatus {
  std::string name;
  int64_t version = 0;  // 0 when the model has no loadable version at all
  ModelState state = ModelState::kUnavailable;
  std::string reason;   // why it is unavailable
  double load_seconds = 0;  // how long loading the copy that serves took; 0 while none does
};

struct RepositoryOptions {
  std::string root;
  std::string default_model;  // served by /predict; empty = the only model
  ControlMode control_mode = ControlMode::kNone;
  int poll_seconds = 15;
  std::vector<std::string> startup_models;  // --load-model (explicit mode); empty + explicit = none
  ServingDefaults defaults;
  // Bytes the process may still allocate; null = AvailableMemoryBytes() (/proc/meminfo or
  // the cgroup limit). A copy of a model is never loaded next to one that serves (a reload,
  // a new version) unless ServedModel::MemoryToLoad fits in it.
  std::function<uint64_t()> available_memory;
};

class ModelRepository {
 public:
  ModelRepository(RepositoryOptions options, Logger& logger);
  ~ModelRepository();

  // Initial load (all models in none/poll mode; startup_models in explicit mode) and,
  // in poll mode, the polling thread.
  void Start();
  // Stops polling and shuts every model down, letting queued work finish by `deadline`.
  void Stop(std::chrono::milliseconds deadline);

  // A ready version; version 0 = the highest ready version. Throws Error(kNotFound) for an
  // unknown model or version, Error(kUnavailable) for one that is not ready.
  std::shared_ptr<ServedModel> Find(const std::string& model, int64_t version = 0) const;
  std::string DefaultModel() const;
  // Every model the repository knows (on disk or loaded), each version with its state.
  std::vector<ModelVersionStatus> Index() const;
  bool IsReady(const std::string& model, int64_t version = 0) const;
  bool AllReady() const;  // every model has a ready version (what /health reports)
  // The embedding cache every model shares (null when caching is off): its per-level
  // counters are process-wide; ServedModel::Stats() has each version's own.
  std::shared_ptr<EmbeddingCache> cache() const { return options_.defaults.cache; }

  // Explicit control (Triton's repository extension). Load (re)reads the model's config
  // and versions from disk; throws Error(kInvalidArgument) with the reason if nothing
  // could be loaded, Error(kNotFound) if the folder does not exist. Unload removes every
  // version of the model.
  void Load(const std::string& model);
  void Unload(const std::string& model);
  // Every loaded model version (for health checks).
  std::vector<std::shared_ptr<ServedModel>> Loaded() const;
  // Loads a loaded model again from disk, whatever the control mode (the health checker's
  // recovery). What was serving keeps serving if the reload fails.
  void Reload(const std::string& model);
  // One scan of the disk as the poll thread does it (tests call it to avoid waiting).
  void Poll();

 private:
  struct VersionEntry {
    ModelVersionStatus status;
    std::shared_ptr<ServedModel> model;
  };
  struct ModelEntry {
    std::string config_fingerprint;  // config.pbtxt content when loaded; a change reloads
    std::map<int64_t, VersionEntry> versions;
  };
  // Brings one model in line with the disk: loads wanted versions that are missing,
  // unloads versions no longer wanted, reloads all when the config changed.
  void Sync(const std::string& model, bool force_reload);
  void KeepServingWhatFailedToReplace(const std::string& name, const std::string& model_dir,
                                      const std::map<int64_t, VersionEntry>& current,
                                      std::map<int64_t, VersionEntry>& next);
  void PollLoop();
  // Throws Error(kUnavailable) with the figures when loading `dir` would not fit in the
  // memory available beside what is loaded.
  void CheckRoomForSecondCopy(const std::string& name, int64_t version, const std::string& dir,
                              const io::ModelConfig& config) const;

  RepositoryOptions options_;
  Logger& logger_;
  mutable std::mutex mutex_;      // guards models_
  std::mutex sync_mutex_;         // one Sync at a time (loads are slow; lookups must not wait on them)
  std::map<std::string, ModelEntry> models_;
  std::thread poll_thread_;
  std::mutex poll_mutex_;
  std::condition_variable poll_cv_;
  bool stopping_ = false;
};

// Version folders under a model folder (positive integer names), ascending.
std::vector<int64_t> ListVersions(const std::string& model_dir);

}  // namespace mms::runtime
