// ServedModel with the embedding cache: what the cache holds runs no batch (statistics
// prove it), results equal the computed ones, a label set seen before costs only the
// image side, a second replica finds what the first stored in the shared level, and a
// model can opt out.
#include <gtest/gtest.h>

#include <map>
#include <mutex>

#include "base/error.h"
#include "base/file_util.h"
#include "runtime/clip_served_model.h"
#include "test_support.h"

namespace mms::runtime {
namespace {

std::string Image(const std::string& name) {
  return ReadFileBytes(testing::SourcePath("tests/data/clip-reference/images/" + name));
}

std::shared_ptr<ClipServedModel> LoadWith(std::shared_ptr<EmbeddingCache> cache,
                                      std::map<std::string, std::string> parameters = {}) {
  io::ModelConfig config;
  config.name = "clip";
  config.max_batch_size = 8;
  config.parameters = std::move(parameters);
  ServingDefaults defaults;
  defaults.clip.threads = 1;
  defaults.cache = std::move(cache);
  return ClipServedModel::Load("clip", 1, testing::TinyClipDir(), config, defaults);
}

std::shared_ptr<EmbeddingCache> MemoryOnly() {
  return std::make_shared<EmbeddingCache>(std::make_unique<MemoryCache>(1 << 20), nullptr);
}

const std::vector<std::string> kLabels = {"a photo of an astronaut", "a photo of a cat", "a cup of coffee"};

TEST(ServedModelCacheTest, ASecondIdenticalRequestRunsNoBatch) {
  auto model = LoadWith(MemoryOnly());
  ASSERT_TRUE(model->caching());
  const std::string image = Image("astronaut.png");
  const auto first = model->EmbedBoth({image}, kLabels);
  const ModelStats before = model->Stats();
  EXPECT_EQ(before.execution_count, 2u);  // one image batch, one text batch
  EXPECT_EQ(before.cache_miss.count, 1u);
  EXPECT_EQ(before.cache_hit.count, 0u);

  const auto second = model->EmbedBoth({image}, kLabels);
  const ModelStats after = model->Stats();
  EXPECT_EQ(after.execution_count, before.execution_count);
  EXPECT_EQ(after.inference_count, before.inference_count);
  EXPECT_EQ(after.compute_input.count, before.compute_input.count);
  EXPECT_EQ(after.success.count, before.success.count + 1);
  EXPECT_EQ(after.cache_hit.count, 1u);
  EXPECT_EQ(after.cache_items.memory_hits, 4u);
  EXPECT_EQ(after.cache_items.memory_misses, 4u);  // the first request's
  EXPECT_EQ(second.images.values, first.images.values);
  EXPECT_EQ(second.texts.values, first.texts.values);
  EXPECT_EQ(second.probs, first.probs);
}

TEST(ServedModelCacheTest, CachedResultsEqualComputedOnes) {
  auto plain = LoadWith(nullptr);
  EXPECT_FALSE(plain->caching());
  auto cached = LoadWith(MemoryOnly());
  const std::string coffee = Image("coffee.png"), camera = Image("camera.png");
  const std::vector<std::string_view> images = {coffee, camera};
  const auto want = plain->EmbedBoth(images, kLabels);
  cached->EmbedBoth(images, kLabels);
  const auto got = cached->EmbedBoth(images, kLabels);  // all from the cache
  EXPECT_EQ(got.images.values, want.images.values);
  EXPECT_EQ(got.texts.values, want.texts.values);
  EXPECT_EQ(got.logits, want.logits);
  EXPECT_EQ(got.probs, want.probs);
  // Partly cached, in any order: each row is its own input's.
  const auto mixed = cached->EmbedBoth({images[1], Image("astronaut.png"), images[0]}, {kLabels[2], "a new text"});
  EXPECT_EQ(mixed.images.RowVector(0), want.images.RowVector(1));
  EXPECT_EQ(mixed.images.RowVector(2), want.images.RowVector(0));
  EXPECT_EQ(mixed.texts.RowVector(0), want.texts.RowVector(2));
  EXPECT_EQ(mixed.images.RowVector(1), plain->EmbedImages({Image("astronaut.png")}).RowVector(0));
  EXPECT_EQ(mixed.texts.RowVector(1), plain->EmbedTexts({"a new text"}).RowVector(0));
}

TEST(ServedModelCacheTest, AKnownLabelSetComputesOnlyTheImage) {
  auto model = LoadWith(MemoryOnly());
  model->Classify(Image("coffee.png"), kLabels);
  const ModelStats before = model->Stats();
  model->Classify(Image("astronaut.png"), kLabels);  // new image, same labels
  const ModelStats after = model->Stats();
  EXPECT_EQ(after.execution_count, before.execution_count + 1);  // the image batch only
  EXPECT_EQ(after.inference_count, before.inference_count + 1);
  EXPECT_EQ(after.cache_miss.count, before.cache_miss.count + 1);
}

TEST(ServedModelCacheTest, FailedInputsAreNotCached) {
  auto model = LoadWith(MemoryOnly());
  for (int i = 0; i < 2; ++i) {
    try {
      model->EmbedImages({std::string_view("not an image")});
      ADD_FAILURE() << "accepted garbage";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kUnsupportedMedia);
    }
  }
  EXPECT_EQ(model->Stats().fail.count, 2u);
  EXPECT_EQ(model->Stats().cache_hit.count, 0u);
}

// A shared level in a map: what Redis is to replicas.
class MapLevel : public CacheLevel {
 public:
  const char* name() const override { return "map"; }
  std::vector<std::optional<CachedEmbedding>> GetMany(const std::vector<CacheDigest>& keys) override {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::optional<CachedEmbedding>> out;
    for (const auto& k : keys) {
      auto it = entries_->find(k);
      out.push_back(it == entries_->end() ? std::nullopt : std::optional<CachedEmbedding>(it->second));
    }
    return out;
  }
  void PutMany(const std::vector<CacheDigest>& keys, const std::vector<std::span<const float>>& values) override {
    std::lock_guard<std::mutex> lock(mutex_);
    for (size_t i = 0; i < keys.size(); ++i) (*entries_)[keys[i]] = CachedEmbedding(values[i].begin(), values[i].end());
  }
  CacheLevelStats Stats() const override { return {}; }
  explicit MapLevel(std::shared_ptr<std::map<CacheDigest, CachedEmbedding>> entries) : entries_(std::move(entries)) {}

 private:
  std::mutex mutex_;
  std::shared_ptr<std::map<CacheDigest, CachedEmbedding>> entries_;
};

TEST(ServedModelCacheTest, AReplicaFindsWhatAnotherStoredInTheSharedLevel) {
  auto shared = std::make_shared<std::map<CacheDigest, CachedEmbedding>>();
  auto replica = [&] {
    return LoadWith(std::make_shared<EmbeddingCache>(std::make_unique<MemoryCache>(1 << 20),
                                                     std::make_unique<MapLevel>(shared)));
  };
  auto a = replica(), b = replica();
  const auto from_a = a->EmbedBoth({Image("camera.png")}, kLabels);
  EXPECT_EQ(shared->size(), 4u);
  const auto from_b = b->EmbedBoth({Image("camera.png")}, kLabels);
  const ModelStats sb = b->Stats();
  EXPECT_EQ(sb.execution_count, 0u);
  EXPECT_EQ(sb.cache_hit.count, 1u);
  EXPECT_EQ(sb.cache_items.memory_misses, 4u);
  EXPECT_EQ(sb.cache_items.redis_hits, 4u);
  EXPECT_EQ(sb.cache_items.redis_misses, 0u);
  EXPECT_EQ(from_b.probs, from_a.probs);
  // Now in b's memory level too.
  b->EmbedBoth({Image("camera.png")}, kLabels);
  EXPECT_EQ(b->Stats().cache_items.memory_hits, 4u);
}

TEST(ServedModelCacheTest, ParameterCacheOffOptsAModelOut) {
  auto model = LoadWith(MemoryOnly(), {{"cache", "off"}});
  EXPECT_FALSE(model->caching());
  model->EmbedTexts(kLabels);
  model->EmbedTexts(kLabels);
  EXPECT_EQ(model->Stats().execution_count, 2u);
  EXPECT_EQ(model->Stats().cache_hit.count + model->Stats().cache_miss.count, 0u);
  EXPECT_TRUE(LoadWith(MemoryOnly(), {{"cache", "on"}})->caching());
  try {
    LoadWith(MemoryOnly(), {{"cache", "maybe"}});
    ADD_FAILURE() << "cache: maybe was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidModel);
    EXPECT_NE(std::string(e.what()).find("cache"), std::string::npos) << e.what();
  }
}

TEST(ServedModelCacheTest, VersionsDoNotShareEntries) {
  auto cache = MemoryOnly();
  io::ModelConfig config;
  config.max_batch_size = 8;
  ServingDefaults defaults;
  defaults.clip.threads = 1;
  defaults.cache = cache;
  auto v1 = ClipServedModel::Load("clip", 1, testing::TinyClipDir(), config, defaults);
  auto v2 = ClipServedModel::Load("clip", 2, testing::TinyClipDir(), config, defaults);
  v1->EmbedTexts(kLabels);
  v2->EmbedTexts(kLabels);
  EXPECT_EQ(v2->Stats().execution_count, 1u);
  EXPECT_EQ(v2->Stats().cache_items.memory_hits, 0u);
  EXPECT_EQ(cache->GetStats().memory->entries, 6u);
}

}  // namespace
}  // namespace mms::runtime
