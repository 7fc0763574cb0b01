#include "runtime/redis_cache.h"

#include <hiredis/hiredis.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <bit>
#include <csignal>
#include <cstring>

#include "base/error.h"

namespace mms::runtime {

namespace {

using Clock = std::chrono::steady_clock;

constexpr char kMagic[4] = {'M', 'M', 'S', 'E'};
constexpr size_t kHeaderBytes = 16;

void PutU32(std::string& out, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) out[at + i] = static_cast<char>(v >> (8 * i));
}

uint32_t GetU32(std::string_view in, size_t at) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(in[at + i])) << (8 * i);
  return v;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(std::string_view s, std::string_view what) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    const int hi = i + 2 < s.size() ? HexValue(s[i + 1]) : -1, lo = i + 2 < s.size() ? HexValue(s[i + 2]) : -1;
    if (hi < 0 || lo < 0) ThrowInvalidArgument("--redis-url: bad percent escape in the " + std::string(what));
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

// The value is not echoed: in a mistyped URL ("redis://user:secret" without "@host",
// or a password holding an unescaped '/') the port or database field is the password.
int ParseNumber(std::string_view s, int max, const std::string& what) {
  if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string_view::npos) {
    ThrowInvalidArgument("--redis-url: the " + what + " is not a number");
  }
  const int v = std::stoi(std::string(s));
  if (v > max) ThrowInvalidArgument("--redis-url: the " + what + " is over " + std::to_string(max));
  return v;
}

// A URL as typed, for an error message, with whatever stands before its last '@' (the
// user information, and a password holding '/' or '@' with it) masked.
std::string RedactedUrlText(std::string_view url) {
  const size_t scheme = url.find("://");
  const size_t start = scheme == std::string_view::npos ? 0 : scheme + 3;
  const size_t at = url.rfind('@');
  if (at == std::string_view::npos || at < start) return std::string(url);
  const std::string_view userinfo = url.substr(start, at - start);
  const size_t colon = userinfo.find(':');
  const std::string user = colon == std::string_view::npos ? "" : std::string(userinfo.substr(0, colon));
  return std::string(url.substr(0, start)) + user + ":***" + std::string(url.substr(at));
}

timeval ToTimeval(std::chrono::milliseconds ms) {
  timeval tv;
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

// A reply that says the command failed, as text; empty for a usable reply.
std::string ReplyError(redisContext* c, redisReply* r, const char* command) {
  if (!r) return std::string(command) + ": " + (c->errstr[0] ? c->errstr : "no reply");
  if (r->type == REDIS_REPLY_ERROR) return std::string(command) + ": " + std::string(r->str, r->len);
  return "";
}

}  // namespace

// ---------------------------------------------------------------------------------------
// URL and value format

RedisUrl ParseRedisUrl(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    // Only the scheme is shown: without "redis://" nothing says where a password would be.
    const size_t sep = url.find("://");
    ThrowInvalidArgument("--redis-url must look like redis://host:port/db" +
                         (sep == std::string_view::npos || sep > 16
                              ? std::string(" (no scheme found)")
                              : " (got the scheme \"" + std::string(url.substr(0, sep)) + "\"; rediss:// is not supported, "
                                "use a TLS sidecar)"));
  }
  std::string_view rest = url.substr(kScheme.size());
  RedisUrl r;
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    const std::string_view db = rest.substr(slash + 1);
    if (!db.empty()) r.db = ParseNumber(db, 1 << 20, "database");
  }
  const size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    const std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    const size_t colon = userinfo.find(':');
    if (colon == std::string_view::npos) {
      ThrowInvalidArgument(
          "--redis-url: a user needs a password (redis://user:password@host or redis://:password@host)");
    }
    r.username = PercentDecode(userinfo.substr(0, colon), "user name");
    r.password = PercentDecode(userinfo.substr(colon + 1), "password");
  }
  std::string_view port;
  if (!authority.empty() && authority[0] == '[') {  // [IPv6]:port
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) ThrowInvalidArgument("--redis-url: '[' without ']' in the host");
    r.host = std::string(authority.substr(1, close - 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') ThrowInvalidArgument("--redis-url: expected ':port' after ']'");
      port = after.substr(1);
      if (port.empty()) ThrowInvalidArgument("--redis-url: empty port");
    }
  } else {
    const size_t colon = authority.find(':');
    if (colon != std::string_view::npos && authority.find(':', colon + 1) != std::string_view::npos) {
      ThrowInvalidArgument("--redis-url: an IPv6 host goes in brackets, as redis://[::1]:6379");
    }
    r.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) ThrowInvalidArgument("--redis-url: empty port");
    }
  }
  if (r.host.empty()) ThrowInvalidArgument("--redis-url names no host (\"" + RedactedUrlText(url) + "\")");
  if (!port.empty()) {
    r.port = ParseNumber(port, 65535, "port");
    if (r.port == 0) ThrowInvalidArgument("--redis-url: port 0");
  }
  return r;
}

std::string RedisUrl::Redacted() const {
  std::string s = "redis://";
  if (!password.empty()) s += username + ":***@";
  s += host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return s + ":" + std::to_string(port) + "/" + std::to_string(db);
}

std::string EncodeRedisValue(std::span<const float> embedding) {
  const size_t n = embedding.size();
  std::string out(kHeaderBytes + n * sizeof(float), '\0');
  std::memcpy(out.data(), kMagic, sizeof(kMagic));
  out[4] = static_cast<char>(kRedisValueFormatVersion & 0xff);
  out[5] = static_cast<char>(kRedisValueFormatVersion >> 8);
  PutU32(out, 8, static_cast<uint32_t>(n));  // one vector per entry: dim = count
  PutU32(out, 12, static_cast<uint32_t>(n));
  if constexpr (std::endian::native == std::endian::little) {
    if (n > 0) std::memcpy(out.data() + kHeaderBytes, embedding.data(), n * sizeof(float));  // empty: data() may be null
  } else {
    for (size_t i = 0; i < n; ++i) PutU32(out, kHeaderBytes + 4 * i, std::bit_cast<uint32_t>(embedding[i]));
  }
  return out;
}

std::optional<CachedEmbedding> DecodeRedisValue(std::string_view value) {
  if (value.size() < kHeaderBytes || std::memcmp(value.data(), kMagic, sizeof(kMagic)) != 0) return std::nullopt;
  const uint16_t version = static_cast<uint16_t>(static_cast<uint8_t>(value[4]) | static_cast<uint8_t>(value[5]) << 8);
  if (version != kRedisValueFormatVersion || value[6] != 0 || value[7] != 0) return std::nullopt;
  const uint32_t dim = GetU32(value, 8), count = GetU32(value, 12);
  if (dim == 0 || count != dim) return std::nullopt;
  if (value.size() != kHeaderBytes + static_cast<size_t>(count) * sizeof(float)) return std::nullopt;
  CachedEmbedding out(count);
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(out.data(), value.data() + kHeaderBytes, count * sizeof(float));
  } else {
    for (size_t i = 0; i < count; ++i) out[i] = std::bit_cast<float>(GetU32(value, kHeaderBytes + 4 * i));
  }
  return out;
}

namespace {

std::string ValueTag(std::string_view key, std::string_view encoded, std::string_view hmac_key) {
  // The key's length first, so that no (key, value) pair can be re-split into another.
  std::string len(4, '\0');
  PutU32(len, 0, static_cast<uint32_t>(key.size()));
  std::string data = len;
  data.append(key).append(encoded);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int out_len = 0;
  const bool ok = HMAC(EVP_sha256(), hmac_key.data(), static_cast<int>(hmac_key.size()),
                       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &out_len) != nullptr;
  if (!ok || out_len != kRedisValueTagBytes) ThrowInternal("HMAC-SHA256 of a Redis cache value failed");
  return std::string(reinterpret_cast<const char*>(out), out_len);
}

bool IsVersion1Value(std::string_view value) {
  return value.size() >= kHeaderBytes && std::memcmp(value.data(), kMagic, sizeof(kMagic)) == 0 && value[4] == 1 &&
         value[5] == 0;
}

}  // namespace

std::string SealRedisValue(std::string_view key, std::string encoded, std::string_view hmac_key) {
  encoded += ValueTag(key, encoded, hmac_key);
  return encoded;
}

std::optional<std::string_view> OpenRedisValue(std::string_view key, std::string_view stored,
                                               std::string_view hmac_key) {
  if (stored.size() < kRedisValueTagBytes) return std::nullopt;
  const std::string_view encoded = stored.substr(0, stored.size() - kRedisValueTagBytes);
  const std::string expected = ValueTag(key, encoded, hmac_key);
  if (CRYPTO_memcmp(expected.data(), stored.data() + encoded.size(), kRedisValueTagBytes) != 0) return std::nullopt;
  return encoded;
}

// ---------------------------------------------------------------------------------------
// RedisCache

RedisCache::RedisCache(RedisCacheOptions options, Logger& logger) : options_(std::move(options)), logger_(logger) {
  // hiredis writes with write(2): a Redis that goes away mid-command would otherwise end
  // the whole process with SIGPIPE instead of failing one cache call.
  std::signal(SIGPIPE, SIG_IGN);
  if (options_.max_connections < 1) options_.max_connections = 1;
  if (options_.hmac_key.empty()) {
    // No shared secret: this process trusts only what it wrote itself.
    options_.hmac_key.resize(32);
    if (RAND_bytes(reinterpret_cast<unsigned char*>(options_.hmac_key.data()), 32) != 1) {
      ThrowInternal("no random bytes for the Redis cache's HMAC key");
    }
  }
}

RedisCache::~RedisCache() {
  for (redisContext* c : idle_) redisFree(c);
}

redisContext* RedisCache::Connect(std::string* error) {
  const timeval tv = ToTimeval(options_.timeout);
  redisContext* c = redisConnectWithTimeout(options_.url.host.c_str(), options_.url.port, tv);
  if (!c) {
    *error = "connect: out of memory";
    return nullptr;
  }
  if (c->err) {
    *error = std::string("connect: ") + c->errstr;
    redisFree(c);
    return nullptr;
  }
  redisSetTimeout(c, tv);
  const auto run = [&](std::vector<std::string> args, const char* name) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
    *error = ReplyError(c, r, name);
    if (r) freeReplyObject(r);
    return error->empty();
  };
  bool ok = true;
  if (!options_.url.password.empty()) {
    // The reply (WRONGPASS ...) never holds the password; the command is not logged.
    const char* what = options_.url.username.empty() ? "AUTH with the password of --redis-url"
                                                     : "AUTH with the user and password of --redis-url";
    ok = options_.url.username.empty() ? run({"AUTH", options_.url.password}, what)
                                       : run({"AUTH", options_.url.username, options_.url.password}, what);
  }
  if (ok && options_.url.db != 0) ok = run({"SELECT", std::to_string(options_.url.db)}, "SELECT");
  if (!ok) {
    redisFree(c);
    return nullptr;
  }
  return c;
}

redisContext* RedisCache::Acquire() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (down_) {
    // Down: no request touches Redis until the retry time, and then only one does.
    if (probing_ || Clock::now() < retry_at_) return nullptr;
    probing_ = true;
    lock.unlock();
    std::string error;
    redisContext* c = Connect(&error);
    lock.lock();
    probing_ = false;
    if (!c) {
      lock.unlock();
      Fail(nullptr, error);
      return nullptr;
    }
    ++open_;
    lock.unlock();
    MarkUp();
    return c;
  }
  if (!idle_.empty()) {
    redisContext* c = idle_.back();
    idle_.pop_back();
    return c;
  }
  if (open_ < options_.max_connections) {
    ++open_;
    lock.unlock();
    std::string error;
    redisContext* c = Connect(&error);
    if (!c) {
      {
        std::lock_guard<std::mutex> relock(mutex_);
        --open_;
      }
      Fail(nullptr, error);
    }
    return c;
  }
  // Every connection is busy: wait for one, no longer than a command may take.
  if (!released_.wait_for(lock, options_.timeout, [this] { return !idle_.empty() || down_; }) || down_) {
    return nullptr;
  }
  redisContext* c = idle_.back();
  idle_.pop_back();
  return c;
}

void RedisCache::Release(redisContext* c) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    idle_.push_back(c);
  }
  released_.notify_one();
}

void RedisCache::Fail(redisContext* c, const std::string& what) {
  std::vector<redisContext*> closing;
  if (c) closing.push_back(c);
  bool warn = false;
  uint64_t suppressed = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto now = Clock::now();
    if (c) --open_;
    open_ -= static_cast<int>(idle_.size());
    closing.insert(closing.end(), idle_.begin(), idle_.end());
    idle_.clear();
    if (!down_) {
      down_ = true;
      down_since_ = now;
      outage_failures_ = 0;
    }
    retry_at_ = now + options_.retry_interval;
    ++stats_.errors;
    ++outage_failures_;
    ++failures_since_warning_;
    if (!last_warning_ || now - *last_warning_ >= options_.warning_interval) {
      warn = true;
      suppressed = failures_since_warning_ - 1;
      failures_since_warning_ = 0;
      last_warning_ = now;
    }
  }
  released_.notify_all();  // waiters for a connection give up rather than wait out the timeout
  for (redisContext* x : closing) redisFree(x);
  if (warn) {
    logger_.Warning("redis cache unavailable; serving from the memory cache and the model",
                    {{"redis", options_.url.Redacted()},
                     {"error", what},
                     {"failures_not_logged", suppressed},
                     {"retry_ms", options_.retry_interval.count()},
                     {"warning_interval_ms", options_.warning_interval.count()}});
  }
}

void RedisCache::MarkUp() {
  double down_ms = 0;
  uint64_t failures = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!down_) return;
    down_ = false;
    down_ms = std::chrono::duration<double, std::milli>(Clock::now() - down_since_).count();
    failures = outage_failures_;
  }
  logger_.Info("redis cache reconnected",
               {{"redis", options_.url.Redacted()}, {"down_ms", down_ms}, {"failed_calls", failures}});
}

bool RedisCache::Ping() {
  std::string error;
  redisContext* c = Connect(&error);
  if (!c) {
    Fail(nullptr, error);
    return false;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++open_;
  }
  MarkUp();
  Release(c);
  return true;
}

std::vector<std::optional<CachedEmbedding>> RedisCache::GetMany(const std::vector<CacheDigest>& keys) {
  std::vector<std::optional<CachedEmbedding>> out(keys.size());
  if (keys.empty()) return out;
  uint64_t hits = 0;
  redisContext* c = Acquire();
  if (c) {
    std::vector<std::string> names;
    names.reserve(keys.size());
    for (const auto& k : keys) names.push_back(KeyOf(k));
    std::vector<const char*> argv = {"MGET"};
    std::vector<size_t> lens = {4};
    for (const auto& n : names) {
      argv.push_back(n.data());
      lens.push_back(n.size());
    }
    auto* r = static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
    std::string error = ReplyError(c, r, "MGET");
    if (error.empty() && (r->type != REDIS_REPLY_ARRAY || r->elements != keys.size())) {
      error = "MGET: unexpected reply";
    }
    if (error.empty()) {
      for (size_t i = 0; i < keys.size(); ++i) {
        const redisReply* e = r->element[i];
        if (e->type != REDIS_REPLY_STRING) continue;
        const std::string_view stored(e->str, e->len);
        if (const auto encoded = OpenRedisValue(names[i], stored, options_.hmac_key)) {
          out[i] = DecodeRedisValue(*encoded);
        } else if (!IsVersion1Value(stored)) {  // an entry of the previous release is just old
          Reject(names[i]);
        }
        if (out[i]) ++hits;
      }
    }
    if (r) freeReplyObject(r);
    if (error.empty()) {
      Release(c);
    } else {
      Fail(c, error);
    }
  }
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.hits += hits;
  stats_.misses += keys.size() - hits;
  return out;
}

void RedisCache::PutMany(const std::vector<CacheDigest>& keys, const std::vector<std::span<const float>>& values) {
  const size_t n = std::min(keys.size(), values.size());
  if (n == 0) return;
  redisContext* c = Acquire();
  if (!c) return;
  const std::string ttl = std::to_string(options_.ttl.count());
  for (size_t i = 0; i < n; ++i) {
    const std::string key = KeyOf(keys[i]), value = SealRedisValue(key, EncodeRedisValue(values[i]), options_.hmac_key);
    std::vector<const char*> argv = {"SET", key.data(), value.data()};
    std::vector<size_t> lens = {3, key.size(), value.size()};
    if (options_.ttl.count() > 0) {
      argv.insert(argv.end(), {"EX", ttl.data()});
      lens.insert(lens.end(), {2, ttl.size()});
    }
    redisAppendCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data());  // buffered; sent below
  }
  std::string error;
  size_t written = 0;
  for (size_t i = 0; i < n; ++i) {
    void* reply = nullptr;
    if (redisGetReply(c, &reply) != REDIS_OK) {
      error = std::string("SET: ") + (c->errstr[0] ? c->errstr : "no reply");
      break;
    }
    auto* r = static_cast<redisReply*>(reply);
    if (r->type == REDIS_REPLY_ERROR) {
      if (error.empty()) error = ReplyError(c, r, "SET");
    } else {
      ++written;
    }
    freeReplyObject(r);
  }
  if (c->err && error.empty()) error = std::string("SET: ") + c->errstr;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.writes += written;
  }
  if (error.empty()) {
    Release(c);
  } else {
    Fail(c, error);
  }
}

void RedisCache::Reject(const std::string& key) {
  uint64_t total = 0, since = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++rejected_;
    ++rejected_since_warning_;
    const auto now = Clock::now();
    if (last_rejection_warning_ && now - *last_rejection_warning_ < options_.warning_interval) return;
    last_rejection_warning_ = now;
    total = rejected_;
    since = rejected_since_warning_;
    rejected_since_warning_ = 0;
  }
  logger_.Warning("redis cache value failed its HMAC check and was treated as a miss (written by someone without "
                  "the cache secret, corrupted, or written with another --cache-hmac-secret-file)",
                  {{"redis", options_.url.Redacted()},
                   {"key", key},
                   {"rejected_since_last_warning", since},
                   {"rejected_total", total}});
}

uint64_t RedisCache::rejected() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return rejected_;
}

CacheLevelStats RedisCache::Stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  CacheLevelStats s = stats_;
  s.available = !down_;
  s.rejected = rejected_;
  return s;
}

}  // namespace mms::runtime
