// Embeddings cached by content, so that inputs seen before (zero-shot label sets above
// all) skip the encoders. A key is the SHA-256 of everything the embedding depends on:
// model name, version, a fingerprint of the loaded checkpoint's bytes, precision, kind
// (image or text) and the preprocessed input (token ids for a text; the encoded bytes and
// the image pipeline for an image, so that an image hit skips decoding too). The
// fingerprint (weights_fingerprint.h) gives a version whose files were replaced in place
// new keys, so that it never answers with the old weights' embeddings.
//
// Two levels: an in-process LRU bounded in bytes (MemoryCache), and optionally a level
// shared by the replicas (RedisCache, redis_cache.h). EmbeddingCache looks up the first,
// then the second, and writes computed embeddings to both.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace mms::runtime {

using CacheDigest = std::array<uint8_t, 32>;  // SHA-256
using CachedEmbedding = std::vector<float>;

// What an embedding depends on besides its input.
struct CacheKeyContext {
  CacheKeyContext() = default;
  // Positional, as the fields are listed; the weights last so that a key of a model loaded
  // without a fingerprint can still be spelled {model, version, precision, pipeline}.
  CacheKeyContext(std::string model, int64_t version, std::string precision = "fp32", std::string image_pipeline = "hf",
                  std::string weights = "")
      : model(std::move(model)),
        version(version),
        precision(std::move(precision)),
        image_pipeline(std::move(image_pipeline)),
        weights(std::move(weights)) {}

  std::string model;
  int64_t version = 0;
  std::string precision = "fp32";    // the precision the model really runs in
  std::string image_pipeline = "hf";  // "hf" | "openai"
  std::string weights;               // FingerprintCheckpoint of the files loaded
};

CacheDigest ImageCacheKey(const CacheKeyContext& context, std::string_view encoded_image);
CacheDigest TextCacheKey(const CacheKeyContext& context, const std::vector<int32_t>& token_ids);
std::string DigestHex(const CacheDigest& digest);  // 64 lowercase hex digits

// Counters of one level since start-up. Readers (stats, /metrics) take a snapshot.
struct CacheLevelStats {
  uint64_t hits = 0;
  uint64_t misses = 0;     // lookups not answered, a level that was down included
  uint64_t writes = 0;     // entries stored
  uint64_t evictions = 0;  // memory: entries dropped to stay within the byte bound
  uint64_t errors = 0;     // redis: failed connects and commands (timeouts included)
  uint64_t rejected = 0;   // redis: values whose HMAC tag was wrong, answered as misses
  uint64_t entries = 0;    // memory: entries held now
  uint64_t bytes = 0;      // memory: bytes held now
  uint64_t capacity_bytes = 0;
  bool available = true;   // redis: false while it is down (between failure and reconnect)
};

// One level. A level never throws for its own failures: what it cannot answer is a miss,
// what it cannot store is dropped.
class CacheLevel {
 public:
  virtual ~CacheLevel() = default;
  virtual const char* name() const = 0;  // "memory" | "redis"
  // One element per key, in order; nullopt for a miss.
  virtual std::vector<std::optional<CachedEmbedding>> GetMany(const std::vector<CacheDigest>& keys) = 0;
  virtual void PutMany(const std::vector<CacheDigest>& keys, const std::vector<std::span<const float>>& values) = 0;
  virtual CacheLevelStats Stats() const = 0;
};

// The in-process level: least recently used entries go first once the bytes held would
// pass the capacity. Split into shards, each with its own lock and an equal part of the
// capacity, so that concurrent requests rarely wait on each other.
class MemoryCache final : public CacheLevel {
 public:
  // shards = 0: one per MiB of capacity, at most 16 (a shard must hold many entries).
  explicit MemoryCache(size_t capacity_bytes, int shards = 0);

  const char* name() const override { return "memory"; }
  std::optional<CachedEmbedding> Get(const CacheDigest& key);
  void Put(const CacheDigest& key, std::span<const float> value);
  std::vector<std::optional<CachedEmbedding>> GetMany(const std::vector<CacheDigest>& keys) override;
  void PutMany(const std::vector<CacheDigest>& keys, const std::vector<std::span<const float>>& values) override;
  CacheLevelStats Stats() const override;

  // What one entry of `floats` values counts against the capacity: the floats and a fixed
  // allowance for the key, the list node and the index slot.
  static size_t EntryBytes(size_t floats);

 private:
  struct DigestHash {
    size_t operator()(const CacheDigest& d) const;
  };
  struct Shard {
    std::mutex mutex;
    std::list<std::pair<CacheDigest, CachedEmbedding>> order;  // most recently used first
    std::unordered_map<CacheDigest, std::list<std::pair<CacheDigest, CachedEmbedding>>::iterator, DigestHash> index;
    size_t bytes = 0;
  };
  Shard& ShardOf(const CacheDigest& key);

  size_t capacity_bytes_;
  size_t shard_capacity_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<uint64_t> hits_{0}, misses_{0}, writes_{0}, evictions_{0};
};

// Both levels as requests use them. Either level may be absent.
class EmbeddingCache {
 public:
  EmbeddingCache(std::unique_ptr<MemoryCache> memory, std::unique_ptr<CacheLevel> shared);

  struct Lookup {
    std::vector<std::optional<CachedEmbedding>> values;  // one per key
    size_t memory_hits = 0;
    size_t shared_hits = 0;
  };
  // The memory level first, then the shared level for what it lacked (one round trip);
  // shared hits are copied into the memory level. A value of another size than `dim`
  // floats (a foreign or corrupt entry) is a miss.
  Lookup GetMany(const std::vector<CacheDigest>& keys, size_t dim);
  // Writes through to both levels.
  void PutMany(const std::vector<CacheDigest>& keys, const std::vector<std::span<const float>>& values);

  struct Stats {
    std::optional<CacheLevelStats> memory, shared;
  };
  Stats GetStats() const;
  bool has_memory() const { return memory_ != nullptr; }
  bool has_shared() const { return shared_ != nullptr; }

 private:
  std::unique_ptr<MemoryCache> memory_;
  std::unique_ptr<CacheLevel> shared_;
};

}  // namespace mms::runtime
