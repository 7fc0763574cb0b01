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

// What the two products (q·kᵀ and probabilities·v) take as inputs.
enum class AttentionProducts {
  kFloat32,
  // q, k, v and the softmax's probabilities rounded to bf16 (nearest even) for the
  // products, with float32 sums, scale and softmax: for models whose linear layers run in
  // bf16 or int8, whose inputs are rounded as coarsely or more. Twice the multiply-adds per
  // instruction; on CPUs without AVX512_BF16 attention runs as kFloat32.
  kBf16,
};

// The fused AVX-512 kernel where the CPU has it and head_dim is a multiple of 16; else,
// for long unmasked sequences, oneDNN products over blocks of keys; else the portable loops.
void Attention(const float* qkv, float* out, const AttentionShape& shape, bool causal,
               AttentionProducts products = AttentionProducts::kFloat32);

namespace portable {
// Plain loops per (sequence, head, query): what CPUs without AVX-512 run.
void Attention(const float* qkv, float* out, const AttentionShape& shape, bool causal);
}  // namespace portable

namespace detail {
// attention_avx512.cpp: query tiles with their scores kept in cache, products in
// registers. Callers check CpuHasAvx512() and AttentionAvx512Supports first.
bool AttentionAvx512Supports(const AttentionShape& shape);
void AttentionAvx512(const float* qkv, float* out, const AttentionShape& shape, bool causal);
// The same tiles with bf16 products (AttentionProducts::kBf16). Callers check
// CpuHasAvx512Bf16() and AttentionAvx512Supports first.
bool CpuHasAvx512Bf16();
void AttentionAvx512Bf16(const float* qkv, float* out, const AttentionShape& shape, bool causal);
// attention_blocked.cpp: unmasked only; scratch per calling thread.
void AttentionBlocked(const float* qkv, float* out, const AttentionShape& shape);
}  // namespace detail

namespace reference {
void Attention(const float* qkv, float* out, const AttentionShape& shape, bool causal);
}  // namespace reference

}  // namespace mms::ops
