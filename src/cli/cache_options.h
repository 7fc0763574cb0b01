// The serve command's embedding cache flags: --cache-bytes (the in-process level),
// --redis-url, --cache-ttl-secs, --redis-timeout-ms and --cache-hmac-secret-file (the level
// shared by replicas).
#pragma once

#include <memory>
#include <string>

#include "base/logger.h"
#include "cli/args.h"
#include "runtime/embedding_cache.h"

namespace mms::cli {

constexpr uint64_t kDefaultCacheBytes = 256ull << 20;

// The cache every model shares, or null when both levels are off. Redis being down at
// start-up is not an error: the cache warns and keeps retrying. `logger` must outlive the
// cache. Throws Error(kInvalidArgument) for a bad flag value.
std::shared_ptr<runtime::EmbeddingCache> EmbeddingCacheFrom(const Args& args, Logger& logger);

}  // namespace mms::cli
