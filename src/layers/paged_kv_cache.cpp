#include "layers/paged_kv_cache.h"

#include <cstring>
#include <new>
#include <string>

#include "base/error.h"

namespace mms::layers {

PagedKvCache::PagedKvCache(const KvCacheShape& shape, int num_blocks) : shape_(shape), num_blocks_(num_blocks) {
  if (shape.layers <= 0 || shape.kv_heads <= 0 || shape.head_dim <= 0 || shape.block_tokens <= 0 || num_blocks < 0) {
    throw Error(ErrorCode::kInternal, "PagedKvCache: invalid shape");
  }
  try {
    data_.assign(static_cast<size_t>(num_blocks) * shape.block_bytes() / sizeof(float), 0.0f);
  } catch (const std::bad_alloc&) {
    throw Error(ErrorCode::kUnavailable, "KV cache: cannot allocate " + std::to_string(num_blocks) + " blocks of " +
                                             std::to_string(shape.block_bytes()) + " bytes");
  }
}

void PagedKvCache::CopyBlock(int from, int to) {
  if (from == to) return;
  const size_t block_floats = shape_.block_bytes() / sizeof(float);
  std::memcpy(data_.data() + static_cast<size_t>(to) * block_floats,
              data_.data() + static_cast<size_t>(from) * block_floats, block_floats * sizeof(float));
}

}  // namespace mms::layers
