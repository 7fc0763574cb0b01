#include "cli/cache_options.h"

#include "api/auth.h"
#include "base/error.h"
#include "runtime/redis_cache.h"

namespace mms::cli {

namespace {

uint64_t ParseBytes(const std::string& flag, const std::string& value) {
  if (value.empty() || value.size() > 19 || value.find_first_not_of("0123456789") != std::string::npos) {
    ThrowInvalidArgument("--" + flag + " must be a number of bytes (got \"" + value + "\")");
  }
  return std::stoull(value);
}

}  // namespace

std::shared_ptr<runtime::EmbeddingCache> EmbeddingCacheFrom(const Args& args, Logger& logger) {
  const uint64_t bytes = ParseBytes("cache-bytes", args.Get("cache-bytes", std::to_string(kDefaultCacheBytes)));
  const std::string url = args.Get("redis-url");
  const int ttl = args.GetInt("cache-ttl-secs", 3600);
  const int timeout_ms = args.GetInt("redis-timeout-ms", 50);
  if (ttl < 0) ThrowInvalidArgument("--cache-ttl-secs must not be negative (0: entries do not expire)");
  if (timeout_ms < 1) ThrowInvalidArgument("--redis-timeout-ms must be at least 1");

  std::unique_ptr<runtime::MemoryCache> memory;
  if (bytes > 0) memory = std::make_unique<runtime::MemoryCache>(bytes);
  std::unique_ptr<runtime::RedisCache> redis;
  nlohmann::json redis_field = nullptr;
  if (!url.empty()) {
    runtime::RedisCacheOptions o;
    o.url = runtime::ParseRedisUrl(url);
    o.timeout = std::chrono::milliseconds(timeout_ms);
    o.ttl = std::chrono::seconds(ttl);
    redis_field = o.url.Redacted();
    const std::string secret_file = args.Get("cache-hmac-secret-file");
    if (!secret_file.empty()) {
      o.hmac_key = api::ReadSecretFile(secret_file, "cache-hmac-secret-file");
    } else {
      // Still safe (a value planted in Redis fails the check), but only this process can
      // read what it wrote: the replicas share nothing through Redis.
      logger.Warning("--redis-url without --cache-hmac-secret-file: Redis entries are signed with a random key of "
                     "this process and are not shared with other replicas; give every replica the same secret file",
                     {{"redis", redis_field}});
    }
    redis = std::make_unique<runtime::RedisCache>(o, logger);
    // Down now is no reason not to serve: Ping warned, and requests retry it later.
    if (redis->Ping()) logger.Info("redis cache connected", {{"redis", redis_field}});
  }
  if (!memory && !redis) {
    logger.Info("embedding cache off");
    return nullptr;
  }
  logger.Info("embedding cache", {{"memory_bytes", bytes},
                                  {"redis", redis_field},
                                  {"ttl_secs", ttl},
                                  {"redis_timeout_ms", timeout_ms}});
  return std::make_shared<runtime::EmbeddingCache>(std::move(memory), std::move(redis));
}

}  // namespace mms::cli
