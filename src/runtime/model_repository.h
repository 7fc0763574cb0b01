// A folder of models laid out as Triton's model repository:
//   ROOT/<model>/<version>/   a Hugging Face checkpoint folder, version a positive integer.
// The repository loads models, remembers why one failed, and hands out loaded versions.
// A failed model never stops the others from serving.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/logger.h"
#include "models/clip/clip_pipeline.h"

namespace mms::runtime {

enum class ModelState { kReady, kUnavailable };
const char* ModelStateName(ModelState state);  // "READY" | "UNAVAILABLE" (Triton's words)

struct ModelVersionStatus {
  std::string name;
  int64_t version = 0;
  ModelState state = ModelState::kUnavailable;
  std::string reason;  // why it is unavailable
};

struct RepositoryOptions {
  std::string root;
  std::string default_model;  // served by /predict; empty = the only model
  models::ClipOptions clip;
};

class ModelRepository {
 public:
  ModelRepository(RepositoryOptions options, Logger& logger);

  // Loads the highest version of every model folder. Failures are recorded per model.
  void LoadAll();

  // A ready model version; version 0 = the highest ready version. Throws
  // Error(kNotFound) for an unknown model or version, Error(kUnavailable) when it failed to load.
  std::shared_ptr<const models::ClipPipeline> Find(const std::string& model, int64_t version = 0) const;
  // The model /predict serves.
  std::string DefaultModel() const;
  std::vector<ModelVersionStatus> Index() const;
  bool AllReady() const;

 private:
  struct LoadedVersion {
    ModelVersionStatus status;
    std::shared_ptr<const models::ClipPipeline> pipeline;
  };
  RepositoryOptions options_;
  Logger& logger_;
  mutable std::mutex mutex_;
  std::map<std::string, std::map<int64_t, LoadedVersion>> models_;
};

// Version folders under a model folder (positive integer names), ascending.
std::vector<int64_t> ListVersions(const std::string& model_dir);

}  // namespace mms::runtime
