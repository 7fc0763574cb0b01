#include "temp_repository.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "test_support.h"

namespace mms::testing {

namespace fs = std::filesystem;

namespace {

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  if (!out) throw std::runtime_error("cannot write " + path);
}

// Symlinks every file of the checkpoint into `dir`, except those named in `except`.
void LinkCheckpoint(const std::string& dir, const std::string& except = "") {
  fs::create_directories(dir);
  for (const auto& entry : fs::directory_iterator(TinyClipDir())) {
    const std::string name = entry.path().filename().string();
    if (name != except) fs::create_symlink(entry.path(), dir + "/" + name);
  }
}

}  // namespace

TempRepository::TempRepository() {
  static std::atomic<int> counter{0};
  root_ = "/tmp/mms_test_repo_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
  fs::remove_all(root_);
  fs::create_directories(root_);
}

TempRepository::~TempRepository() {
  std::error_code ec;  // never throw from a destructor; a leftover folder only wastes /tmp
  fs::remove_all(root_, ec);
}

void TempRepository::AddModel(const std::string& model, const std::vector<int64_t>& versions,
                              const std::optional<std::string>& config_pbtxt) {
  fs::create_directories(ModelDir(model));
  if (config_pbtxt) WriteConfig(model, *config_pbtxt);
  for (int64_t v : versions) AddVersion(model, v);
}

std::string TempRepository::StagingDir(const std::string& model) {
  return ModelDir(model) + "/.staging_" + std::to_string(staged_++);
}

void TempRepository::PublishVersion(const std::string& staged, const std::string& model, int64_t version) {
  // rename() of a directory is atomic: a poll sees no folder or a complete one.
  fs::rename(staged, ModelDir(model) + "/" + std::to_string(version));
}

void TempRepository::AddVersion(const std::string& model, int64_t version) {
  const std::string staged = StagingDir(model);
  LinkCheckpoint(staged);
  PublishVersion(staged, model, version);
}

void TempRepository::AddBrokenVersion(const std::string& model, int64_t version) {
  const std::string staged = StagingDir(model);
  LinkCheckpoint(staged, "model.safetensors");
  WriteFile(staged + "/model.safetensors", "these bytes are not a safetensors file");
  PublishVersion(staged, model, version);
}

void TempRepository::RemoveVersion(const std::string& model, int64_t version) {
  // Renamed out of sight first, so that a poll never lists a half-deleted version.
  const std::string gone = StagingDir(model);
  fs::rename(ModelDir(model) + "/" + std::to_string(version), gone);
  fs::remove_all(gone);
}

void TempRepository::WriteConfig(const std::string& model, const std::string& pbtxt) {
  const std::string staged = ModelDir(model) + "/.config.pbtxt.new";
  WriteFile(staged, pbtxt);
  fs::rename(staged, ModelDir(model) + "/config.pbtxt");
}

}  // namespace mms::testing
