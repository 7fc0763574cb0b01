// Attention of a step's query rows over a fixed set of keys and values that is not in the
// paged KV cache: an encoder-decoder model's cross-attention (Whisper's decoder reading a
// window's encoder output). Every chunk of rows has its own keys and values (the
// sequences of a step decode different audio); no mask, every row sees every key.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace mms::layers {

struct CrossAttentionChunk {
  int64_t row_begin = 0;  // query rows [row_begin, row_begin + rows)
  int64_t rows = 0;
  // keys: [heads, head_dim, kv_rows] (each head's keys transposed, so the scores of all
  // keys are contiguous multiply-adds); values: [kv_rows, heads * head_dim], heads side by side.
  const float* keys = nullptr;
  const float* values = nullptr;
  // The same in bfloat16 (bf16 and int8 models keep them so: half the bytes each decoder
  // step streams); when set, they are read instead of keys / values.
  const uint16_t* keys_bf16 = nullptr;
  const uint16_t* values_bf16 = nullptr;
  int64_t kv_rows = 0;
};

struct CrossAttentionShape {
  int heads = 0;
  int head_dim = 0;
};

// Floats of scratch memory CrossAttention needs with `threads` threads when no chunk has
// more than max_kv_rows keys.
size_t CrossAttentionScratchFloats(int64_t max_kv_rows, int threads);

// out[t, h * head_dim ..] = softmax(q_t,h · K_h^T / sqrt(head_dim)) · V_h, with query row
// t at q + t * q_stride and output row t at out + t * out_stride. Chunks in row order.
// Float32 with a max-subtracted softmax; parallel over (row, head) pairs of all chunks.
void CrossAttention(const float* q, int64_t q_stride, std::span<const CrossAttentionChunk> chunks,
                    const CrossAttentionShape& shape, float* out, int64_t out_stride, float* scratch, int threads);

namespace reference {
// Plain loops in double: the yardstick of the kernel above.
void CrossAttention(const float* q, int64_t q_stride, std::span<const CrossAttentionChunk> chunks,
                    const CrossAttentionShape& shape, float* out, int64_t out_stride);
}  // namespace reference

}  // namespace mms::layers
