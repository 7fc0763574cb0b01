#include "runtime/embedding_cache.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "base/error.h"

namespace mms::runtime {

namespace {

// SHA-256 over a sequence of fields, each preceded by its length, so that no two
// different field lists hash the same bytes ("ab"+"c" differs from "a"+"bc").
class KeyHasher {
 public:
  KeyHasher() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1) ThrowInternal("SHA-256 is unavailable");
    // Changes to what a key covers change this tag, so old entries are never read as new ones.
    Field("mmserve-embedding-key-v2");  // v2: the weights fingerprint
  }
  void Field(std::string_view bytes) {
    uint64_t n = bytes.size();
    uint8_t len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(n >> (8 * i));
    EVP_DigestUpdate(ctx_.get(), len, sizeof(len));
    EVP_DigestUpdate(ctx_.get(), bytes.data(), bytes.size());
  }
  void Context(const CacheKeyContext& c, std::string_view kind) {
    Field(c.model);
    Field(std::to_string(c.version));
    Field(c.weights);
    Field(c.precision);
    Field(kind);
  }
  CacheDigest Finish() {
    CacheDigest d{};
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(ctx_.get(), d.data(), &n) != 1 || n != d.size()) ThrowInternal("SHA-256 failed");
    return d;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx_;
};

}  // namespace

CacheDigest ImageCacheKey(const CacheKeyContext& context, std::string_view encoded_image) {
  KeyHasher h;
  h.Context(context, "image");
  h.Field(context.image_pipeline);  // the pipeline changes the pixels, so the embedding
  h.Field(encoded_image);
  return h.Finish();
}

CacheDigest TextCacheKey(const CacheKeyContext& context, const std::vector<int32_t>& token_ids) {
  KeyHasher h;
  h.Context(context, "text");
  std::string ids(token_ids.size() * 4, '\0');  // little-endian int32, whatever the host
  for (size_t i = 0; i < token_ids.size(); ++i) {
    const uint32_t v = static_cast<uint32_t>(token_ids[i]);
    for (int b = 0; b < 4; ++b) ids[i * 4 + b] = static_cast<char>(v >> (8 * b));
  }
  h.Field(ids);
  return h.Finish();
}

std::string DigestHex(const CacheDigest& digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(digest.size() * 2, '0');
  for (size_t i = 0; i < digest.size(); ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 15];
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// MemoryCache

size_t MemoryCache::DigestHash::operator()(const CacheDigest& d) const {
  size_t h;
  std::memcpy(&h, d.data(), sizeof(h));  // a SHA-256 is uniform already
  return h;
}

size_t MemoryCache::EntryBytes(size_t floats) {
  // The key twice (list and index), list node and index node pointers, the vector header.
  constexpr size_t kOverhead = 2 * sizeof(CacheDigest) + 64;
  return floats * sizeof(float) + kOverhead;
}

MemoryCache::MemoryCache(size_t capacity_bytes, int shards) : capacity_bytes_(capacity_bytes) {
  if (shards <= 0) shards = static_cast<int>(std::clamp<size_t>(capacity_bytes >> 20, 1, 16));
  shard_capacity_ = capacity_bytes / static_cast<size_t>(shards);
  for (int i = 0; i < shards; ++i) shards_.push_back(std::make_unique<Shard>());
}

MemoryCache::Shard& MemoryCache::ShardOf(const CacheDigest& key) {
  // Other bytes than the index hash's, so that a shard's keys still spread over its buckets.
  uint32_t h;
  std::memcpy(&h, key.data() + 8, sizeof(h));
  return *shards_[h % shards_.size()];
}

std::optional<CachedEmbedding> MemoryCache::Get(const CacheDigest& key) {
  Shard& s = ShardOf(key);
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    auto it = s.index.find(key);
    if (it != s.index.end()) {
      s.order.splice(s.order.begin(), s.order, it->second);
      hits_.fetch_add(1, std::memory_order_relaxed);
      return it->second->second;
    }
  }
  misses_.fetch_add(1, std::memory_order_relaxed);
  return std::nullopt;
}

void MemoryCache::Put(const CacheDigest& key, std::span<const float> value) {
  const size_t cost = EntryBytes(value.size());
  if (cost > shard_capacity_) return;  // larger than a shard could ever hold
  Shard& s = ShardOf(key);
  uint64_t evicted = 0;
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    auto it = s.index.find(key);
    if (it != s.index.end()) {  // the same content computed twice at once: keep one
      s.bytes -= EntryBytes(it->second->second.size());
      s.order.erase(it->second);
      s.index.erase(it);
    }
    while (!s.order.empty() && s.bytes + cost > shard_capacity_) {
      auto& last = s.order.back();
      s.bytes -= EntryBytes(last.second.size());
      s.index.erase(last.first);
      s.order.pop_back();
      ++evicted;
    }
    s.order.emplace_front(key, CachedEmbedding(value.begin(), value.end()));
    s.index.emplace(key, s.order.begin());
    s.bytes += cost;
  }
  writes_.fetch_add(1, std::memory_order_relaxed);
  if (evicted) evictions_.fetch_add(evicted, std::memory_order_relaxed);
}

std::vector<std::optional<CachedEmbedding>> MemoryCache::GetMany(const std::vector<CacheDigest>& keys) {
  std::vector<std::optional<CachedEmbedding>> out;
  out.reserve(keys.size());
  for (const auto& k : keys) out.push_back(Get(k));
  return out;
}

void MemoryCache::PutMany(const std::vector<CacheDigest>& keys, const std::vector<std::span<const float>>& values) {
  for (size_t i = 0; i < keys.size() && i < values.size(); ++i) Put(keys[i], values[i]);
}

CacheLevelStats MemoryCache::Stats() const {
  CacheLevelStats st;
  st.hits = hits_.load(std::memory_order_relaxed);
  st.misses = misses_.load(std::memory_order_relaxed);
  st.writes = writes_.load(std::memory_order_relaxed);
  st.evictions = evictions_.load(std::memory_order_relaxed);
  st.capacity_bytes = capacity_bytes_;
  for (const auto& s : shards_) {
    std::lock_guard<std::mutex> lock(s->mutex);
    st.entries += s->index.size();
    st.bytes += s->bytes;
  }
  return st;
}

// ---------------------------------------------------------------------------------------
// EmbeddingCache

EmbeddingCache::EmbeddingCache(std::unique_ptr<MemoryCache> memory, std::unique_ptr<CacheLevel> shared)
    : memory_(std::move(memory)), shared_(std::move(shared)) {}

EmbeddingCache::Lookup EmbeddingCache::GetMany(const std::vector<CacheDigest>& keys, size_t dim) {
  Lookup r;
  r.values.resize(keys.size());
  if (memory_) {
    r.values = memory_->GetMany(keys);
    for (auto& v : r.values) {
      if (v && v->size() != dim) v.reset();
      if (v) ++r.memory_hits;
    }
  }
  if (!shared_) return r;
  std::vector<size_t> missing;
  std::vector<CacheDigest> missing_keys;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!r.values[i]) {
      missing.push_back(i);
      missing_keys.push_back(keys[i]);
    }
  }
  if (missing.empty()) return r;
  std::vector<std::optional<CachedEmbedding>> found = shared_->GetMany(missing_keys);
  for (size_t j = 0; j < missing.size() && j < found.size(); ++j) {
    if (!found[j] || found[j]->size() != dim) continue;
    if (memory_) memory_->Put(missing_keys[j], *found[j]);
    r.values[missing[j]] = std::move(found[j]);
    ++r.shared_hits;
  }
  return r;
}

void EmbeddingCache::PutMany(const std::vector<CacheDigest>& keys, const std::vector<std::span<const float>>& values) {
  if (keys.empty()) return;
  if (memory_) memory_->PutMany(keys, values);
  if (shared_) shared_->PutMany(keys, values);
}

EmbeddingCache::Stats EmbeddingCache::GetStats() const {
  Stats s;
  if (memory_) s.memory = memory_->Stats();
  if (shared_) s.shared = shared_->Stats();
  return s;
}

}  // namespace mms::runtime
