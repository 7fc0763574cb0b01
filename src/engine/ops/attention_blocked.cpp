// The blocked attention of ops::Attention for long unmasked sequences on CPUs without the
// AVX-512 kernel (written first for Whisper's encoder: 1500 positions, where attention
// is most of the arithmetic): per sequence and head, scores = Q·Kᵀ and out = P·V as
// oneDNN products over blocks of keys, with a row-parallel softmax between them.
#include "engine/ops/attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "base/cpu_features.h"
#include "engine/ops/fast_exp.h"
#include "engine/ops/matmul.h"

namespace mms::ops::detail {

namespace {

// Keys per block of the products. P·V sums over all keys in float32; one running sum
// over 1500 terms drifts (3e-5 off OpenAI's encoder output on the reference model),
// while partial products over blocks of 256 keys, added up, stay within 1e-5.
constexpr int64_t kKeyBlock = 256;

// The scratch regions of one (window, head): Q [seq, hd] (pre-scaled), V [seq, hd],
// and per key block b of width w_b: Kᵀ_b [hd, w_b] and P_b [seq, w_b], the blocks one
// after another (so each block is a contiguous matrix for oneDNN).
struct HeadBuffers {
  float *q, *v, *kt, *p;
};

HeadBuffers Split(float* scratch, int64_t seq, int64_t hd) {
  HeadBuffers b;
  b.q = scratch;
  b.v = b.q + seq * hd;
  b.kt = b.v + seq * hd;
  b.p = b.kt + seq * hd;
  return b;
}

int64_t BlockWidth(int64_t seq, int64_t j0) { return std::min(kKeyBlock, seq - j0); }

// Softmax of query row i across the blocks of p, in place. Always inlined into a baseline
// and an AVX-512 variant: the build's baseline ISA kept the exponentials four wide, and
// this softmax was a quarter of a window's encoding.
[[gnu::always_inline]] inline void SoftmaxRow(float* p, int64_t seq, int64_t i) {
  float max_score = -INFINITY;
  for (int64_t j0 = 0; j0 < seq; j0 += kKeyBlock) {
    const int64_t w = BlockWidth(seq, j0);
    const float* row = p + j0 * seq + i * w;
#pragma omp simd reduction(max : max_score)
    for (int64_t j = 0; j < w; ++j) max_score = std::max(max_score, row[j]);
  }
  float denom = 0.0f;
  for (int64_t j0 = 0; j0 < seq; j0 += kKeyBlock) {
    const int64_t w = BlockWidth(seq, j0);
    float* row = p + j0 * seq + i * w;
    float part = 0.0f;
#pragma omp simd reduction(+ : part)
    for (int64_t j = 0; j < w; ++j) {
      row[j] = ops::ExpApprox(row[j] - max_score);
      part += row[j];
    }
    denom += part;
  }
  const float inv = 1.0f / denom;
  for (int64_t j0 = 0; j0 < seq; j0 += kKeyBlock) {
    const int64_t w = BlockWidth(seq, j0);
    float* row = p + j0 * seq + i * w;
#pragma omp simd
    for (int64_t j = 0; j < w; ++j) row[j] *= inv;
  }
}

void SoftmaxRowBaseline(float* p, int64_t seq, int64_t i) { SoftmaxRow(p, seq, i); }
MMS_TARGET_AVX512 void SoftmaxRowAvx512(float* p, int64_t seq, int64_t i) { SoftmaxRow(p, seq, i); }

void SoftmaxRows(float* p, int64_t seq) {
  const auto row = mms::CpuHasAvx512() ? SoftmaxRowAvx512 : SoftmaxRowBaseline;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < seq; ++i) row(p, seq, i);
}

}  // namespace

void AttentionBlocked(const float* qkv, float* out, const AttentionShape& s) {
  // Per calling thread, grown to the longest sequence seen and then reused (a fresh
  // buffer per call would be page-faulted in again every layer).
  thread_local std::vector<float> scratch_buffer;
  const size_t need = 4 * static_cast<size_t>(s.seq * s.head_dim) + static_cast<size_t>(s.seq * s.seq);
  if (scratch_buffer.size() < need) scratch_buffer.resize(need);
  float* scratch = scratch_buffer.data();
  const int64_t seq = s.seq, hd = s.head_dim;
  const int64_t width = static_cast<int64_t>(s.heads) * hd;
  const int64_t stride = 3 * width;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const HeadBuffers b = Split(scratch, seq, hd);
  float* o = b.p + seq * seq;  // [seq, hd]
  for (int64_t w = 0; w < s.batch; ++w) {
    const float* base = qkv + w * seq * stride;
    for (int64_t h = 0; h < s.heads; ++h) {
      const int64_t col = h * hd;
      // Gather the head's q, k and v into contiguous matrices (k transposed per block).
#pragma omp parallel for schedule(static)
      for (int64_t i = 0; i < seq; ++i) {
        const float* row = base + i * stride + col;
        const int64_t j0 = i / kKeyBlock * kKeyBlock, bw = BlockWidth(seq, j0);
        float* kt = b.kt + j0 * hd;
        for (int64_t d = 0; d < hd; ++d) {
          b.q[i * hd + d] = row[d] * scale;
          kt[d * bw + (i - j0)] = row[width + d];
          b.v[i * hd + d] = row[2 * width + d];
        }
      }
      for (int64_t j0 = 0; j0 < seq; j0 += kKeyBlock) {
        ops::MatMul(b.q, b.kt + j0 * hd, nullptr, b.p + j0 * seq, seq, BlockWidth(seq, j0), hd);
      }
      SoftmaxRows(b.p, seq);
      for (int64_t j0 = 0; j0 < seq; j0 += kKeyBlock) {
        ops::MatMul(b.p + j0 * seq, b.v + j0 * hd, nullptr, o, seq, hd, BlockWidth(seq, j0),
                    {ops::Activation::kNone, /*accumulate=*/j0 > 0});
      }
#pragma omp parallel for schedule(static)
      for (int64_t i = 0; i < seq; ++i) {
        std::copy(o + i * hd, o + (i + 1) * hd, out + (w * seq + i) * width + col);
      }
    }
  }
}

}  // namespace mms::ops::detail
