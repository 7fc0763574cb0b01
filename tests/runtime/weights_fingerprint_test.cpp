// The weights fingerprint in embedding cache keys: a version whose files are replaced in
// place (same version number, same sizes, even the same modification times) answers with
// its new weights after a reload, from a warm in-process cache and from a warm shared
// level (what Redis is across replicas) alike.
#include "runtime/clip_served_model.h"
#include "runtime/weights_fingerprint.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "runtime/model_repository.h"
#include "test_support.h"

namespace mms::runtime {
namespace {

namespace fs = std::filesystem;

// A shared cache level in memory, standing in for Redis: it outlives the repositories
// (replicas) that use it.
class SharedLevel final : public CacheLevel {
 public:
  const char* name() const override { return "redis"; }
  std::vector<std::optional<CachedEmbedding>> GetMany(const std::vector<CacheDigest>& keys) override {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::optional<CachedEmbedding>> out;
    for (const auto& k : keys) {
      auto it = entries_.find(k);
      out.push_back(it == entries_.end() ? std::nullopt : std::optional<CachedEmbedding>(it->second));
    }
    return out;
  }
  void PutMany(const std::vector<CacheDigest>& keys, const std::vector<std::span<const float>>& values) override {
    std::lock_guard<std::mutex> lock(mutex_);
    for (size_t i = 0; i < keys.size(); ++i) entries_[keys[i]].assign(values[i].begin(), values[i].end());
  }
  CacheLevelStats Stats() const override { return {}; }

 private:
  std::mutex mutex_;
  std::map<CacheDigest, CachedEmbedding> entries_;
};

// Forwards to a SharedLevel the test keeps (EmbeddingCache owns its levels).
class SharedLevelView final : public CacheLevel {
 public:
  explicit SharedLevelView(SharedLevel& level) : level_(level) {}
  const char* name() const override { return "redis"; }
  std::vector<std::optional<CachedEmbedding>> GetMany(const std::vector<CacheDigest>& keys) override {
    return level_.GetMany(keys);
  }
  void PutMany(const std::vector<CacheDigest>& keys, const std::vector<std::span<const float>>& values) override {
    level_.PutMany(keys, values);
  }
  CacheLevelStats Stats() const override { return {}; }

 private:
  SharedLevel& level_;
};

class WeightsFingerprintTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("mms_fingerprint_" + std::to_string(::getpid()) + "_" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    version_dir_ = root_ / "clip" / "1";
    fs::create_directories(version_dir_);
    // Real copies (not links): the test rewrites them in place.
    for (const auto& f : fs::directory_iterator(testing::TinyClipDir()))
      fs::copy_file(f.path(), version_dir_ / f.path().filename());
  }
  void TearDown() override { fs::remove_all(root_); }

  // Negates every value of one float32 tensor of model.safetensors, writing into the same
  // file (same inode, same size) and putting its modification time back as it was.
  void NegateTensorInPlace(const std::string& tensor) {
    const fs::path path = version_dir_ / "model.safetensors";
    const auto mtime = fs::last_write_time(path);
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    uint64_t header_size = 0;
    file.read(reinterpret_cast<char*>(&header_size), 8);
    std::string header(header_size, '\0');
    file.read(header.data(), static_cast<std::streamsize>(header_size));
    const auto offsets = nlohmann::json::parse(header).at(tensor).at("data_offsets");
    const uint64_t begin = 8 + header_size + offsets[0].get<uint64_t>(), end = 8 + header_size + offsets[1].get<uint64_t>();
    std::vector<float> values((end - begin) / sizeof(float));
    file.seekg(static_cast<std::streamoff>(begin));
    file.read(reinterpret_cast<char*>(values.data()), static_cast<std::streamsize>(end - begin));
    for (float& v : values) v = -v;
    file.seekp(static_cast<std::streamoff>(begin));
    file.write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(end - begin));
    file.close();
    fs::last_write_time(path, mtime);
  }

  std::unique_ptr<ModelRepository> Replica() {
    RepositoryOptions o;
    o.root = root_.string();
    o.defaults.clip.threads = 1;
    o.defaults.cache = std::make_shared<EmbeddingCache>(std::make_unique<MemoryCache>(1 << 20),
                                                        std::make_unique<SharedLevelView>(shared_));
    auto repository = std::make_unique<ModelRepository>(o, logger_);
    repository->Start();
    return repository;
  }

  fs::path root_, version_dir_;
  SharedLevel shared_;
  Logger logger_{LogLevel::kError};
};

TEST_F(WeightsFingerprintTest, FollowsTheBytesNotTheSizesOrTimes) {
  const std::string before = FingerprintCheckpoint(version_dir_.string());
  EXPECT_EQ(before.size(), 64u);
  EXPECT_EQ(FingerprintCheckpoint(version_dir_.string()), before);
  EXPECT_EQ(FingerprintCheckpoint(testing::TinyClipDir()), before);  // a copy has the same bytes
  const auto state = CheckpointState(version_dir_.string());
  NegateTensorInPlace("text_projection.weight");
  EXPECT_NE(FingerprintCheckpoint(version_dir_.string()), before);
  // Same sizes and times: only the bytes tell the files apart.
  const auto after = CheckpointState(version_dir_.string());
  ASSERT_EQ(after.size(), state.size());
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].size, state[i].size) << after[i].name;
    EXPECT_EQ(after[i].mtime_ns, state[i].mtime_ns) << after[i].name;
  }
}

TEST_F(WeightsFingerprintTest, WeightsReplacedInPlaceAreNotAnsweredFromTheCache) {
  const std::vector<std::string> text = {"a photo of a cat"};
  auto replica = Replica();
  const auto old_embedding = replica->Find("clip")->AsClip()->EmbedTexts(text).values;
  // Cached now: the same request runs no batch.
  const uint64_t executions = replica->Find("clip")->Stats().execution_count;
  EXPECT_EQ(replica->Find("clip")->AsClip()->EmbedTexts(text).values, old_embedding);
  EXPECT_EQ(replica->Find("clip")->Stats().execution_count, executions);

  NegateTensorInPlace("text_projection.weight");
  replica->Reload("clip");  // as an explicit load or a health-check recovery does
  const auto reloaded = replica->Find("clip")->AsClip()->EmbedTexts(text).values;
  ASSERT_EQ(reloaded.size(), old_embedding.size());
  EXPECT_NE(reloaded, old_embedding);
  for (size_t i = 0; i < reloaded.size(); ++i) EXPECT_NEAR(reloaded[i], -old_embedding[i], 1e-5) << i;

  // Another replica loading the new files finds nothing stale in the shared level either:
  // its answer is the new weights' whether computed or read from the shared level.
  auto other = Replica();
  EXPECT_EQ(other->Find("clip")->AsClip()->EmbedTexts(text).values, reloaded);
}

}  // namespace
}  // namespace mms::runtime
