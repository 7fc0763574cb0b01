// The key/value cache of a decoder, in fixed-size blocks (vLLM's paged layout). A
// sequence owns a list of block ids (its block table); position p of the sequence lives
// in block table[p / block_tokens], row p % block_tokens. Blocks are handed out and taken
// back by the generation scheduler's block manager (src/generation/); this class only
// owns the memory and knows where a block's rows are.
//
// Memory layout, float32: [block][layer][K | V][block_tokens][kv_heads * head_dim].
// One block of one layer is two contiguous matrices, so attention over a block reads
// plain rows and copying a block (copy-on-write forks) is one memcpy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace mms::layers {

struct KvCacheShape {
  int layers = 0;
  int kv_heads = 0;
  int head_dim = 0;
  int block_tokens = 16;  // positions per block

  int64_t row_floats() const { return static_cast<int64_t>(kv_heads) * head_dim; }
  // Bytes one block takes across all layers, keys and values.
  size_t block_bytes() const {
    return static_cast<size_t>(layers) * 2 * block_tokens * row_floats() * sizeof(float);
  }
};

class PagedKvCache {
 public:
  // Allocates num_blocks blocks (zeroed). Throws Error(kUnavailable) when the memory
  // cannot be had.
  PagedKvCache(const KvCacheShape& shape, int num_blocks);

  const KvCacheShape& shape() const { return shape_; }
  int num_blocks() const { return num_blocks_; }

  // [block_tokens][kv_heads * head_dim] rows of one block in one layer.
  float* keys(int block, int layer) { return data_.data() + Offset(block, layer, 0); }
  float* values(int block, int layer) { return data_.data() + Offset(block, layer, 1); }
  const float* keys(int block, int layer) const { return data_.data() + Offset(block, layer, 0); }
  const float* values(int block, int layer) const { return data_.data() + Offset(block, layer, 1); }

  // Copies every layer's keys and values of block `from` into block `to`.
  void CopyBlock(int from, int to);

 private:
  size_t Offset(int block, int layer, int kv) const {
    const size_t per_matrix = static_cast<size_t>(shape_.block_tokens) * shape_.row_floats();
    return ((static_cast<size_t>(block) * shape_.layers + layer) * 2 + kv) * per_matrix;
  }
  KvCacheShape shape_;
  int num_blocks_ = 0;
  std::vector<float> data_;
};

}  // namespace mms::layers
