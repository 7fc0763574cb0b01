// A model repository of the tests' own making, in a fresh folder under /tmp that the
// destructor removes: models with version folders holding the tiny CLIP checkpoint (its
// files symlinked, so a version costs no copying), each with an optional config.pbtxt.
// Changes are made the way a deployment tool should make them, atomically (built aside,
// then renamed into place), so that a server polling the folder sees either the old
// state or the new one, never half of a version or half of a config.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mms::testing {

class TempRepository {
 public:
  TempRepository();
  ~TempRepository();
  TempRepository(const TempRepository&) = delete;
  TempRepository& operator=(const TempRepository&) = delete;

  const std::string& root() const { return root_; }
  std::string ModelDir(const std::string& model) const { return root_ + "/" + model; }

  // A model folder with these versions of TinyClipDir() and, when given, config.pbtxt.
  void AddModel(const std::string& model, const std::vector<int64_t>& versions,
                const std::optional<std::string>& config_pbtxt = std::nullopt);
  // A version folder holding TinyClipDir()'s files.
  void AddVersion(const std::string& model, int64_t version);
  // A version folder like AddVersion's whose model.safetensors is garbage, so that
  // loading it fails (with a reason naming the file).
  void AddBrokenVersion(const std::string& model, int64_t version);
  void RemoveVersion(const std::string& model, int64_t version);
  // Writes (or replaces) the model's config.pbtxt.
  void WriteConfig(const std::string& model, const std::string& pbtxt);

 private:
  // A folder beside the versions whose name no server takes for a version (not all digits).
  std::string StagingDir(const std::string& model);
  void PublishVersion(const std::string& staged, const std::string& model, int64_t version);

  std::string root_;
  int staged_ = 0;
};

}  // namespace mms::testing
