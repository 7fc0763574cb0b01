// The cache level shared by replicas: embeddings in Redis, written with a TTL. Redis is
// an optimisation, never a dependency: every call waits at most the timeout, a failure
// makes the level answer misses (and drop writes) without touching Redis for
// retry_interval, then one request tries again. While Redis is down a warning is logged
// at most once per warning_interval; an info line says when it is back.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/logger.h"
#include "runtime/embedding_cache.h"

struct redisContext;

namespace mms::runtime {

// redis://[[user]:password@]host[:port][/db]; host may be [IPv6]. Port 6379 and db 0 by
// default. Throws Error(kInvalidArgument) naming what is wrong.
struct RedisUrl {
  std::string host;
  int port = 6379;
  int db = 0;
  std::string username;  // Redis 6 ACL user; empty = AUTH with the password alone
  std::string password;  // empty = no AUTH
  std::string Redacted() const;  // the URL without the password, for logs
};
RedisUrl ParseRedisUrl(std::string_view url);

// A stored value: a 16-byte header, then the floats, all little-endian, then a 32-byte
// HMAC-SHA256 tag (SealRedisValue).
//   bytes 0-3 magic "MMSE", 4-5 format version, 6-7 zero, 8-11 dim, 12-15 float count
// Decoding checks all of it; anything else (another version, another program's value,
// a truncated one) is nullopt, which the cache treats as a miss.
// Version 2 added the tag; a version 1 value (no tag) is an old entry, a plain miss.
constexpr uint16_t kRedisValueFormatVersion = 2;
std::string EncodeRedisValue(std::span<const float> embedding);
std::optional<CachedEmbedding> DecodeRedisValue(std::string_view value);

// Whoever can reach Redis can write any key (SCAN finds them all), so a value is trusted
// only with a tag only the replicas can make: HMAC-SHA256, keyed by the deployment's
// secret, over the key's length and name and the encoded value. Binding the key stops a
// genuine value from being copied under another key (another text's embedding).
constexpr size_t kRedisValueTagBytes = 32;
std::string SealRedisValue(std::string_view key, std::string encoded, std::string_view hmac_key);
// The encoded value when the tag is right, else nullopt. Compared in constant time.
std::optional<std::string_view> OpenRedisValue(std::string_view key, std::string_view stored,
                                               std::string_view hmac_key);

struct RedisCacheOptions {
  RedisUrl url;
  std::chrono::milliseconds timeout{50};  // connect, and each command round trip
  std::chrono::seconds ttl{3600};         // 0 = entries do not expire
  std::chrono::milliseconds retry_interval{1000};
  std::chrono::milliseconds warning_interval{10000};
  int max_connections = 8;  // requests beyond it wait for a free connection, up to the timeout
  std::string key_prefix = "mms:emb:";
  // Key of the values' HMAC (--cache-hmac-secret-file): replicas share entries only when
  // they share it. Empty: a random key of this process's own.
  std::string hmac_key;
};

class RedisCache final : public CacheLevel {
 public:
  RedisCache(RedisCacheOptions options, Logger& logger);
  ~RedisCache() override;
  RedisCache(const RedisCache&) = delete;
  RedisCache& operator=(const RedisCache&) = delete;

  const char* name() const override { return "redis"; }
  // One MGET for all keys.
  std::vector<std::optional<CachedEmbedding>> GetMany(const std::vector<CacheDigest>& keys) override;
  // One pipelined round trip of SET key value EX ttl.
  void PutMany(const std::vector<CacheDigest>& keys, const std::vector<std::span<const float>>& values) override;
  CacheLevelStats Stats() const override;
  // Values found in Redis whose HMAC tag was wrong (planted, corrupted, or written under
  // another secret): each was answered as a miss.
  uint64_t rejected() const;

  // Connects now (ignoring the retry interval); whether Redis answered. For start-up.
  bool Ping();
  std::string KeyOf(const CacheDigest& digest) const { return options_.key_prefix + DigestHex(digest); }

 private:
  // A connection for one command, or nullptr: Redis is down (within the retry interval,
  // or another request is probing it), or every connection stayed busy for the timeout.
  redisContext* Acquire();
  // Returns a healthy connection to the pool.
  void Release(redisContext* c);
  // Closes a connection that failed, and every idle one with it (they share its fate);
  // marks Redis down and warns if the interval allows.
  void Fail(redisContext* c, const std::string& what);
  redisContext* Connect(std::string* error);
  void MarkUp();
  // Counts a value that failed its HMAC check; logs the first, then at most once per
  // warning_interval with the count.
  void Reject(const std::string& key);

  RedisCacheOptions options_;
  Logger& logger_;

  mutable std::mutex mutex_;
  std::condition_variable released_;
  std::vector<redisContext*> idle_;
  int open_ = 0;  // connections existing, idle or in use
  bool down_ = false;
  bool probing_ = false;  // one request is trying Redis again after the retry interval
  std::chrono::steady_clock::time_point retry_at_{};
  std::chrono::steady_clock::time_point down_since_{};
  std::optional<std::chrono::steady_clock::time_point> last_warning_;
  uint64_t failures_since_warning_ = 0;
  uint64_t outage_failures_ = 0;

  CacheLevelStats stats_;  // under mutex_
  uint64_t rejected_ = 0;  // under mutex_
  uint64_t rejected_since_warning_ = 0;
  std::optional<std::chrono::steady_clock::time_point> last_rejection_warning_;
};

}  // namespace mms::runtime
