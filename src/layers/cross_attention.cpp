#include "layers/cross_attention.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "engine/ops/fast_exp.h"

namespace mms::layers {

namespace {

size_t ChunkOfRow(std::span<const CrossAttentionChunk> chunks, int64_t t) {
  size_t lo = 0, hi = chunks.size();
  while (hi - lo > 1) {
    const size_t mid = (lo + hi) / 2;
    if (chunks[mid].row_begin <= t) lo = mid; else hi = mid;
  }
  return lo;
}

// One (row, head). Keys are stored transposed per head ([head_dim, kv_rows]), so the scores
// of all keys are head_dim passes of a multiply-add over a contiguous row that stays in
// L1 (no horizontal sum per key, which kept the row-major form at a few GFLOP/s); the
// weighted sum of values streams V once. Always inlined into a baseline and an AVX-512
// variant, picked at run time.
// A stored key or value as float: float32 as it is, bfloat16 widened (its bits are the top
// half of a float32's).
[[gnu::always_inline]] inline float Widen(float x) { return x; }
[[gnu::always_inline]] inline float Widen(uint16_t x) {
  const uint32_t bits = static_cast<uint32_t>(x) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

template <typename T>
[[gnu::always_inline]] inline void AttendOne(const float* q, const T* keys, const T* values, int64_t n, int head,
                                             int hd, int64_t width, float scale, float* scores, float* out) {
  const T* kt = keys + static_cast<int64_t>(head) * hd * n;
  std::fill(scores, scores + n, 0.0f);
  for (int d = 0; d < hd; ++d) {
    const float qd = q[d] * scale;
    const T* krow = kt + static_cast<int64_t>(d) * n;
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) scores[j] += qd * Widen(krow[j]);
  }
  float max_score = -INFINITY;
#pragma omp simd reduction(max : max_score)
  for (int64_t j = 0; j < n; ++j) max_score = std::max(max_score, scores[j]);
  float denom = 0.0f;
#pragma omp simd reduction(+ : denom)
  for (int64_t j = 0; j < n; ++j) {
    scores[j] = ops::ExpApprox(scores[j] - max_score);
    denom += scores[j];
  }
  std::fill(out, out + hd, 0.0f);
  const T* v0 = values + static_cast<int64_t>(head) * hd;
  for (int64_t j = 0; j < n; ++j) {
    const T* v = v0 + j * width;
    const float p = scores[j];
#pragma omp simd
    for (int d = 0; d < hd; ++d) out[d] += p * Widen(v[d]);
  }
  const float inv = 1.0f / denom;
  for (int d = 0; d < hd; ++d) out[d] *= inv;
}

[[gnu::always_inline]] inline void AttendChunk(const float* q, const CrossAttentionChunk& c, int head, int hd,
                                               int64_t width, float scale, float* scores, float* out) {
  if (c.keys_bf16 != nullptr) {
    AttendOne(q, c.keys_bf16, c.values_bf16, c.kv_rows, head, hd, width, scale, scores, out);
  } else {
    AttendOne(q, c.keys, c.values, c.kv_rows, head, hd, width, scale, scores, out);
  }
}

void AttendOneBaseline(const float* q, const CrossAttentionChunk& c, int head, int hd, int64_t width, float scale,
                       float* scores, float* out) {
  AttendChunk(q, c, head, hd, width, scale, scores, out);
}

MMS_TARGET_AVX512 void AttendOneAvx512(const float* q, const CrossAttentionChunk& c, int head, int hd, int64_t width,
                                       float scale, float* scores, float* out) {
  AttendChunk(q, c, head, hd, width, scale, scores, out);
}

}  // namespace

size_t CrossAttentionScratchFloats(int64_t max_kv_rows, int threads) {
  return static_cast<size_t>(std::max<int64_t>(max_kv_rows, 1)) * static_cast<size_t>(std::max(threads, 1));
}

void CrossAttention(const float* q, int64_t q_stride, std::span<const CrossAttentionChunk> chunks,
                    const CrossAttentionShape& s, float* out, int64_t out_stride, float* scratch, int threads) {
  if (chunks.empty()) return;
  const int64_t rows = chunks.back().row_begin + chunks.back().rows;
  const int hd = s.head_dim;
  const int64_t width = static_cast<int64_t>(s.heads) * hd;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  int64_t max_kv = 1;
  for (const auto& c : chunks) max_kv = std::max(max_kv, c.kv_rows);
  const int64_t items = rows * s.heads;
  threads = std::max(1, std::min<int>(threads, static_cast<int>(items)));
  const auto attend = mms::CpuHasAvx512() ? AttendOneAvx512 : AttendOneBaseline;
#pragma omp parallel num_threads(threads)
  {
    float* scores = scratch + static_cast<size_t>(omp_get_thread_num()) * static_cast<size_t>(max_kv);
#pragma omp for schedule(static)
    for (int64_t item = 0; item < items; ++item) {
      const int64_t t = item / s.heads;
      const int head = static_cast<int>(item % s.heads);
      const int64_t col = static_cast<int64_t>(head) * hd;
      const CrossAttentionChunk& c = chunks[ChunkOfRow(chunks, t)];
      attend(q + t * q_stride + col, c, head, hd, width, scale, scores, out + t * out_stride + col);
    }
  }
}

namespace reference {

void CrossAttention(const float* q, int64_t q_stride, std::span<const CrossAttentionChunk> chunks,
                    const CrossAttentionShape& s, float* out, int64_t out_stride) {
  const int hd = s.head_dim;
  const int64_t width = static_cast<int64_t>(s.heads) * hd;
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  for (const auto& c : chunks) {
    std::vector<double> p(c.kv_rows);
    for (int64_t t = c.row_begin; t < c.row_begin + c.rows; ++t) {
      for (int h = 0; h < s.heads; ++h) {
        double max_score = -INFINITY;
        for (int64_t j = 0; j < c.kv_rows; ++j) {
          double dot = 0;
          for (int d = 0; d < hd; ++d) {
            const int64_t at = (static_cast<int64_t>(h) * hd + d) * c.kv_rows + j;
            dot += static_cast<double>(q[t * q_stride + h * hd + d]) * (c.keys_bf16 ? Widen(c.keys_bf16[at]) : c.keys[at]);
          }
          p[j] = dot * scale;
          max_score = std::max(max_score, p[j]);
        }
        double denom = 0;
        for (auto& x : p) denom += (x = std::exp(x - max_score));
        for (int d = 0; d < hd; ++d) {
          double acc = 0;
          for (int64_t j = 0; j < c.kv_rows; ++j) {
            const int64_t at = j * width + h * hd + d;
            acc += p[j] * (c.values_bf16 ? Widen(c.values_bf16[at]) : c.values[at]);
          }
          out[t * out_stride + h * hd + d] = static_cast<float>(acc / denom);
        }
      }
    }
  }
}

}  // namespace reference

}  // namespace mms::layers
