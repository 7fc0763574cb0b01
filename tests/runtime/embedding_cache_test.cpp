// The in-process cache level (byte bound, LRU order, concurrency), cache keys (each thing
// an embedding depends on changes the key) and the two levels together.
#include "runtime/embedding_cache.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace mms::runtime {
namespace {

CacheDigest Key(int i) {
  return TextCacheKey({"m", 1, "fp32", "hf"}, {i});
}

std::vector<float> Vector(int i, size_t dim = 8) {
  std::vector<float> v(dim);
  for (size_t j = 0; j < dim; ++j) v[j] = static_cast<float>(i) + 0.25f * static_cast<float>(j);
  return v;
}

// ---------------------------------------------------------------------------------------
// Keys

TEST(CacheKeyTest, EveryPartOfTheContextChangesTheKey) {
  const CacheKeyContext base{"clip", 1, "fp32", "hf"};
  const std::string image = "\x89PNG not really";
  const std::vector<int32_t> ids = {49406, 320, 1125, 49407};
  std::set<CacheDigest> images, texts;
  const std::vector<CacheKeyContext> contexts = {base,
                                                 {"clip2", 1, "fp32", "hf"},  // model
                                                 {"clip", 2, "fp32", "hf"},   // version
                                                 {"clip", 1, "bf16", "hf"},   // precision
                                                 {"clip", 1, "int8", "hf"},
                                                 {"clip", 1, "fp32", "hf", "other weights"}};  // weights
  for (const CacheKeyContext& c : contexts) {
    images.insert(ImageCacheKey(c, image));
    texts.insert(TextCacheKey(c, ids));
  }
  EXPECT_EQ(images.size(), 6u);
  EXPECT_EQ(texts.size(), 6u);
  // The image pipeline changes the pixels, so an image's key; a text's embedding does not
  // depend on it.
  EXPECT_NE(ImageCacheKey(base, image), ImageCacheKey({"clip", 1, "fp32", "openai"}, image));
  EXPECT_EQ(TextCacheKey(base, ids), TextCacheKey({"clip", 1, "fp32", "openai"}, ids));
  // Same context and input: same key (what lets replicas share entries).
  EXPECT_EQ(ImageCacheKey(base, image), ImageCacheKey(CacheKeyContext(base), std::string(image)));
  EXPECT_EQ(TextCacheKey(base, ids), TextCacheKey(base, std::vector<int32_t>(ids)));
}

TEST(CacheKeyTest, InputsAndKindsAreKeptApart) {
  const CacheKeyContext c{"clip", 1, "fp32", "hf"};
  EXPECT_NE(TextCacheKey(c, {1, 2}), TextCacheKey(c, {2, 1}));
  EXPECT_NE(TextCacheKey(c, {1}), TextCacheKey(c, {1, 0}));
  EXPECT_NE(ImageCacheKey(c, "abc"), ImageCacheKey(c, "abd"));
  // The bytes of token id 1 (little-endian int32) as an image are another key.
  EXPECT_NE(ImageCacheKey(c, std::string("\x01\x00\x00\x00", 4)), TextCacheKey(c, {1}));
  // Field boundaries count: model "clip1" version 2 is not model "clip" version 12.
  EXPECT_NE(TextCacheKey({"clip1", 2, "fp32", "hf"}, {1}), TextCacheKey({"clip", 12, "fp32", "hf"}, {1}));
}

TEST(CacheKeyTest, HexIsTheSha256Digest) {
  const std::string hex = DigestHex(Key(7));
  EXPECT_EQ(hex.size(), 64u);
  EXPECT_EQ(hex.find_first_not_of("0123456789abcdef"), std::string::npos);
  CacheDigest zero{};
  zero[0] = 0xab;
  zero[31] = 0x01;
  EXPECT_EQ(DigestHex(zero), "ab" + std::string(60, '0') + "01");
}

// ---------------------------------------------------------------------------------------
// MemoryCache

TEST(MemoryCacheTest, GetReturnsWhatWasPut) {
  MemoryCache cache(1 << 20);
  EXPECT_FALSE(cache.Get(Key(1)));
  cache.Put(Key(1), Vector(1));
  const auto got = cache.Get(Key(1));
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, Vector(1));
  const CacheLevelStats s = cache.Stats();
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 1u);
  EXPECT_EQ(s.writes, 1u);
  EXPECT_EQ(s.entries, 1u);
  EXPECT_EQ(s.bytes, MemoryCache::EntryBytes(8));
}

TEST(MemoryCacheTest, StaysWithinItsByteBound) {
  const size_t entry = MemoryCache::EntryBytes(8);
  MemoryCache cache(10 * entry + entry / 2, 1);
  for (int i = 0; i < 100; ++i) {
    cache.Put(Key(i), Vector(i));
    EXPECT_LE(cache.Stats().bytes, 10 * entry + entry / 2);
  }
  const CacheLevelStats s = cache.Stats();
  EXPECT_EQ(s.entries, 10u);
  EXPECT_EQ(s.bytes, 10 * entry);
  EXPECT_EQ(s.evictions, 90u);
  // The ten most recent remain.
  for (int i = 90; i < 100; ++i) EXPECT_TRUE(cache.Get(Key(i))) << i;
  EXPECT_FALSE(cache.Get(Key(89)));
}

TEST(MemoryCacheTest, EvictsTheLeastRecentlyUsed) {
  MemoryCache cache(3 * MemoryCache::EntryBytes(8), 1);
  cache.Put(Key(1), Vector(1));
  cache.Put(Key(2), Vector(2));
  cache.Put(Key(3), Vector(3));
  ASSERT_TRUE(cache.Get(Key(1)));  // 1 is now the most recent: 2 goes first
  cache.Put(Key(4), Vector(4));
  EXPECT_TRUE(cache.Get(Key(1)));
  EXPECT_FALSE(cache.Get(Key(2)));
  EXPECT_TRUE(cache.Get(Key(3)));
  EXPECT_TRUE(cache.Get(Key(4)));
  cache.Put(Key(5), Vector(5));  // order now 4 3 1 (most recent first): 1 goes
  EXPECT_FALSE(cache.Get(Key(1)));
  EXPECT_EQ(cache.Stats().evictions, 2u);
}

TEST(MemoryCacheTest, PuttingAKeyAgainReplacesItsEntry) {
  MemoryCache cache(1 << 20, 1);
  cache.Put(Key(1), Vector(1, 8));
  cache.Put(Key(1), Vector(2, 16));
  EXPECT_EQ(cache.Stats().entries, 1u);
  EXPECT_EQ(cache.Stats().bytes, MemoryCache::EntryBytes(16));
  EXPECT_EQ(*cache.Get(Key(1)), Vector(2, 16));
}

TEST(MemoryCacheTest, AnEntryLargerThanTheCacheIsNotStored) {
  MemoryCache cache(MemoryCache::EntryBytes(8), 1);
  cache.Put(Key(1), Vector(1, 8));
  cache.Put(Key(2), Vector(2, 9));  // one float too many: dropped, and 1 stays
  EXPECT_TRUE(cache.Get(Key(1)));
  EXPECT_FALSE(cache.Get(Key(2)));
  EXPECT_EQ(cache.Stats().evictions, 0u);
}

TEST(MemoryCacheTest, ShardsSplitTheCapacity) {
  const size_t capacity = 16u << 20;
  MemoryCache cache(capacity);  // 16 shards of 1 MiB
  for (int i = 0; i < 20000; ++i) cache.Put(Key(i), Vector(i, 512));
  const CacheLevelStats s = cache.Stats();
  EXPECT_LE(s.bytes, capacity);
  EXPECT_GT(s.bytes, capacity * 9 / 10);  // the shards fill evenly: SHA-256 keys spread
  EXPECT_EQ(s.capacity_bytes, capacity);
  EXPECT_EQ(s.entries + s.evictions, 20000u);
}

TEST(MemoryCacheTest, ConcurrentUseKeepsEntriesIntactAndTheBound) {
  const size_t capacity = 200 * MemoryCache::EntryBytes(64);
  MemoryCache cache(capacity, 4);
  constexpr int kThreads = 8, kOps = 20000, kKeys = 400;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kOps; ++i) {
        const int k = (i * 7 + t * 13) % kKeys;
        if (auto v = cache.Get(Key(k))) {
          wrong += *v != Vector(k, 64);
        } else {
          cache.Put(Key(k), Vector(k, 64));
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong, 0);
  const CacheLevelStats s = cache.Stats();
  EXPECT_EQ(s.hits + s.misses, static_cast<uint64_t>(kThreads) * kOps);
  EXPECT_GT(s.hits, 0u);
  EXPECT_LE(s.bytes, capacity);
  EXPECT_EQ(s.bytes, s.entries * MemoryCache::EntryBytes(64));
}

// ---------------------------------------------------------------------------------------
// Both levels

// A shared level in a map, counting its calls.
class MapLevel : public CacheLevel {
 public:
  const char* name() const override { return "map"; }
  std::vector<std::optional<CachedEmbedding>> GetMany(const std::vector<CacheDigest>& keys) override {
    std::lock_guard<std::mutex> lock(mutex);
    ++get_calls;
    std::vector<std::optional<CachedEmbedding>> out;
    for (const auto& k : keys) {
      auto it = entries.find(k);
      out.push_back(it == entries.end() ? std::nullopt : std::optional<CachedEmbedding>(it->second));
    }
    return out;
  }
  void PutMany(const std::vector<CacheDigest>& keys, const std::vector<std::span<const float>>& values) override {
    std::lock_guard<std::mutex> lock(mutex);
    for (size_t i = 0; i < keys.size(); ++i) entries[keys[i]] = CachedEmbedding(values[i].begin(), values[i].end());
  }
  CacheLevelStats Stats() const override { return {}; }

  std::mutex mutex;
  std::map<CacheDigest, CachedEmbedding> entries;
  int get_calls = 0;
};

TEST(EmbeddingCacheTest, MemoryFirstThenSharedWhichFillsMemory) {
  auto shared = std::make_unique<MapLevel>();
  MapLevel* map = shared.get();
  auto memory = std::make_unique<MemoryCache>(1 << 20);
  MemoryCache* mem = memory.get();
  EmbeddingCache cache(std::move(memory), std::move(shared));

  mem->Put(Key(1), Vector(1));
  map->entries[Key(2)] = Vector(2);
  map->entries[Key(3)] = Vector(3, 4);  // another size than the model's: a miss
  const auto r = cache.GetMany({Key(1), Key(2), Key(3), Key(4)}, 8);
  ASSERT_EQ(r.values.size(), 4u);
  EXPECT_EQ(r.values[0], Vector(1));
  EXPECT_EQ(r.values[1], Vector(2));
  EXPECT_FALSE(r.values[2]);
  EXPECT_FALSE(r.values[3]);
  EXPECT_EQ(r.memory_hits, 1u);
  EXPECT_EQ(r.shared_hits, 1u);
  EXPECT_EQ(map->get_calls, 1);  // one round trip for all that memory lacked
  EXPECT_TRUE(mem->Get(Key(2)));  // copied into memory

  // All in memory now: the shared level is not asked.
  const auto again = cache.GetMany({Key(1), Key(2)}, 8);
  EXPECT_EQ(again.memory_hits, 2u);
  EXPECT_EQ(map->get_calls, 1);
}

TEST(EmbeddingCacheTest, PutWritesThroughToBothLevels) {
  auto shared = std::make_unique<MapLevel>();
  MapLevel* map = shared.get();
  EmbeddingCache cache(std::make_unique<MemoryCache>(1 << 20), std::move(shared));
  const std::vector<float> a = Vector(5), b = Vector(6);
  cache.PutMany({Key(5), Key(6)}, {a, b});
  EXPECT_EQ(map->entries.at(Key(5)), a);
  EXPECT_EQ(map->entries.at(Key(6)), b);
  EXPECT_EQ(cache.GetMany({Key(5), Key(6)}, 8).memory_hits, 2u);
  const auto stats = cache.GetStats();
  ASSERT_TRUE(stats.memory);
  EXPECT_EQ(stats.memory->entries, 2u);
  EXPECT_TRUE(stats.shared);
}

TEST(EmbeddingCacheTest, EitherLevelMayBeAbsent) {
  EmbeddingCache memory_only(std::make_unique<MemoryCache>(1 << 20), nullptr);
  memory_only.PutMany({Key(1)}, {Vector(1)});
  EXPECT_EQ(memory_only.GetMany({Key(1)}, 8).memory_hits, 1u);
  EXPECT_FALSE(memory_only.GetStats().shared);

  EmbeddingCache shared_only(nullptr, std::make_unique<MapLevel>());
  shared_only.PutMany({Key(1)}, {Vector(1)});
  const auto r = shared_only.GetMany({Key(1), Key(2)}, 8);
  EXPECT_EQ(r.shared_hits, 1u);
  EXPECT_EQ(r.memory_hits, 0u);
  EXPECT_FALSE(shared_only.GetStats().memory);
}

}  // namespace
}  // namespace mms::runtime
