#include "engine/ops/attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "base/cpu_features.h"

namespace mms::ops {

void Attention(const float* qkv, float* out, const AttentionShape& s, bool causal, AttentionProducts products) {
  if (products == AttentionProducts::kBf16 && detail::CpuHasAvx512Bf16() && detail::AttentionAvx512Supports(s)) {
    detail::AttentionAvx512Bf16(qkv, out, s, causal);
    return;
  }
  if (mms::CpuHasAvx512() && detail::AttentionAvx512Supports(s)) {
    detail::AttentionAvx512(qkv, out, s, causal);
    return;
  }
  // Where attention is most of the work (Whisper's 1500 positions), products on oneDNN's
  // kernels beat per-query loops many times over.
  constexpr int64_t kBlockedFromSeq = 256;
  if (!causal && s.seq >= kBlockedFromSeq) {
    detail::AttentionBlocked(qkv, out, s);
    return;
  }
  portable::Attention(qkv, out, s, causal);
}

namespace portable {

void Attention(const float* qkv, float* out, const AttentionShape& s, bool causal) {
  const int64_t width = s.heads * s.head_dim;
  const int64_t row_stride = 3 * width;
  const float scale = 1.0f / std::sqrt(static_cast<float>(s.head_dim));

  // One task per (sequence, head): attention is a small share of a transformer's work
  // (seq² · width against seq · width² for the projections), so simple vectorized
  // loops over contiguous head_dim slices are enough here.
#pragma omp parallel
  {
    std::vector<float> scores(s.seq);
    std::vector<float> acc(s.head_dim);
#pragma omp for collapse(2) schedule(static)
    for (int64_t b = 0; b < s.batch; ++b) {
      for (int64_t h = 0; h < s.heads; ++h) {
        const float* base = qkv + b * s.seq * row_stride + h * s.head_dim;
        for (int64_t i = 0; i < s.seq; ++i) {
          const float* q = base + i * row_stride;
          const int64_t keys = causal ? i + 1 : s.seq;
          float max_score = -INFINITY;
          for (int64_t j = 0; j < keys; ++j) {
            const float* k = base + j * row_stride + width;
            float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
            for (int64_t d = 0; d < s.head_dim; ++d) dot += q[d] * k[d];
            scores[j] = dot * scale;
            max_score = std::max(max_score, scores[j]);
          }
          float denom = 0.0f;
          for (int64_t j = 0; j < keys; ++j) {
            scores[j] = std::exp(scores[j] - max_score);
            denom += scores[j];
          }
          std::fill(acc.begin(), acc.end(), 0.0f);
          for (int64_t j = 0; j < keys; ++j) {
            const float* v = base + j * row_stride + 2 * width;
            const float p = scores[j];
            float* a = acc.data();
#pragma omp simd
            for (int64_t d = 0; d < s.head_dim; ++d) a[d] += p * v[d];
          }
          float* o = out + (b * s.seq + i) * width + h * s.head_dim;
          const float inv = 1.0f / denom;
          for (int64_t d = 0; d < s.head_dim; ++d) o[d] = acc[d] * inv;
        }
      }
    }
  }
}

}  // namespace portable

namespace reference {

void Attention(const float* qkv, float* out, const AttentionShape& s, bool causal) {
  const int64_t width = s.heads * s.head_dim;
  const int64_t row_stride = 3 * width;
  const double scale = 1.0 / std::sqrt(static_cast<double>(s.head_dim));
  std::vector<double> p(s.seq);
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t h = 0; h < s.heads; ++h) {
      for (int64_t i = 0; i < s.seq; ++i) {
        const float* q = qkv + (b * s.seq + i) * row_stride + h * s.head_dim;
        double max_score = -INFINITY;
        for (int64_t j = 0; j < s.seq; ++j) {
          if (causal && j > i) {
            p[j] = -INFINITY;
            continue;
          }
          const float* k = qkv + (b * s.seq + j) * row_stride + width + h * s.head_dim;
          double dot = 0;
          for (int64_t d = 0; d < s.head_dim; ++d) dot += static_cast<double>(q[d]) * k[d];
          p[j] = dot * scale;
          max_score = std::max(max_score, p[j]);
        }
        double denom = 0;
        for (int64_t j = 0; j < s.seq; ++j) {
          p[j] = std::exp(p[j] - max_score);
          denom += p[j];
        }
        for (int64_t d = 0; d < s.head_dim; ++d) {
          double acc = 0;
          for (int64_t j = 0; j < s.seq; ++j) {
            acc += p[j] * qkv[(b * s.seq + j) * row_stride + 2 * width + h * s.head_dim + d];
          }
          out[(b * s.seq + i) * width + h * s.head_dim + d] = static_cast<float>(acc / denom);
        }
      }
    }
  }
}

}  // namespace reference

}  // namespace mms::ops
