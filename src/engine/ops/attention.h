// Scaled dot-product multi-head attention over the output of a fused QKV projection.
//   qkv: [batch, seq, 3 * heads * head_dim]   (q | k | v, each laid out head after head)
//   out: [batch, seq, heads * head_dim]
// scale = 1/sqrt(head_dim). With causal, query i attends to keys 0..i only.
#pragma once

#include <cstdint>

namespace mms::ops {

struct AttentionShape {
  int64_t batch;
  int64_t seq;
  int64_t heads;
  int64_t head_dim;
};

void Attention(const float* qkv, float* out, const AttentionShape& shape, bool causal);

namespace reference {
void Attention(const float* qkv, float* out, const AttentionShape& shape, bool causal);
}  // namespace reference

}  // namespace mms::ops
