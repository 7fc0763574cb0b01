// Attention of a step's query rows over keys and values held in the paged KV cache.
//
// The rows of a step are stacked chunk after chunk (generative_model.h): chunk c owns
// rows [row_begin, row_begin + rows), whose absolute positions are first_position + i.
// Row i attends to positions [0, first_position + i] of its own sequence (causal within
// the chunk, everything cached before it), read through the chunk's block table.
// Grouped-query attention: query head h reads key/value head h / (heads / kv_heads), as
// transformers' repeat_kv lays them out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "layers/paged_kv_cache.h"

namespace mms::layers {

struct AttentionChunk {
  int64_t row_begin = 0;
  int64_t rows = 0;
  int32_t first_position = 0;
  std::span<const int32_t> block_table;  // long enough for first_position + rows positions
};

struct PagedAttentionShape {
  int heads = 0;
  int kv_heads = 0;
  int head_dim = 0;
};

// Floats of scratch memory PagedAttention needs with `threads` OpenMP threads.
size_t PagedAttentionScratchFloats(const PagedAttentionShape& shape, int block_tokens, int threads);

// Writes the keys and values of every chunk row into its cache slot of `layer`.
//   k, v: row t at k + t * stride, kv_heads * head_dim floats.
void WriteKvRows(std::span<const AttentionChunk> chunks, const float* k, const float* v, int64_t stride,
                 PagedKvCache& cache, int layer);

// out[t, heads * head_dim] = softmax(q_t · K^T / sqrt(head_dim)) · V per head, with
// q row t at q + t * q_stride (heads * head_dim floats). Chunks in row order, covering
// rows [0, T) without gaps. The block tables were checked by the caller. Float32 with a
// running (max-subtracted) softmax over the cache blocks; parallel over kv heads × tiles of
// up to 16 rows of a chunk (a prefill's rows share each key and value read; on AVX-512 with
// head_dim a multiple of 16) or single rows (decode steps, other CPUs and head sizes).
void PagedAttention(const float* q, int64_t q_stride, std::span<const AttentionChunk> chunks,
                    const PagedAttentionShape& shape, const PagedKvCache& cache, int layer, float* out, float* scratch,
                    int threads);

namespace reference {
// Plain loops in double over all positions at once: the yardstick of the blocked kernel.
void PagedAttention(const float* q, int64_t q_stride, std::span<const AttentionChunk> chunks,
                    const PagedAttentionShape& shape, const PagedKvCache& cache, int layer, float* out);
}  // namespace reference

}  // namespace mms::layers
