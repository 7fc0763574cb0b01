// The AVX-512 attention of ops::Attention: one pass per tile of 16 query rows that keeps
// the tile's scores in cache (never a [seq, seq] matrix in memory), with the products in
// registers, four rows at a time, so that each block of keys and values is read from L1
// by all four (a tile of 4 rows streamed Kᵀ from L2 once per 4 queries: 10% slower at
// Whisper's 1500 positions than oneDNN's products):
//   scores[r][j] = q_r · k_j   4 rows x 64 keys of accumulators, k read from a per-head
//                              transposed copy Kᵀ[d][j] (one vector load per 16 keys);
//   softmax per row            max, exp (the polynomial of fast_exp.h, 16 wide), sum;
//   out[r] += p[r][j] · v_j    4 rows x 64 columns of accumulators, v read in place.
// P·V is summed per block of kKeyBlock keys and the blocks added up, so that a long
// sequence does not run one float32 sum over all its keys.
#include <immintrin.h>

// GCC 12 reports the intrinsics' own "undefined" operands (inlined from immintrin.h into
// target-attribute functions) as uninitialized: a false positive (GCC bug 105593, fixed in
// 13), silenced here only.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/ops/attention.h"
#include "engine/ops/fast_exp.h"

namespace mms::ops::detail {

namespace {

constexpr int kRows = 4;           // query rows per micro tile (the registers' 4 x 64 block)
constexpr int kMicroTiles = 4;     // micro tiles per tile: each block of Kᵀ and V is read once per tile
constexpr int kTileRows = kRows * kMicroTiles;
constexpr int64_t kKeyBlock = 128;  // keys per partial P·V sum

MMS_TARGET_AVX512 inline __m512 Exp16(__m512 x) {
  const __m512 lo = _mm512_set1_ps(-87.33654f), hi = _mm512_set1_ps(88.3762626647949f);
  const __m512 xc = _mm512_min_ps(_mm512_max_ps(x, lo), hi);
  const __m512 shifter = _mm512_set1_ps(12582912.0f);
  const __m512 n = _mm512_sub_ps(_mm512_fmadd_ps(xc, _mm512_set1_ps(1.44269504088896341f), shifter), shifter);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), xc);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  const __m512 y = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
  const __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
  const __m512 v = _mm512_mul_ps(y, _mm512_castsi512_ps(e));
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ), v, _mm512_setzero_ps());
}

// scores[r][j0 .. j0 + 16·NK) = q_r · k_j for the tile's rows; kt is Kᵀ with row stride ld.
template <int NK>
MMS_TARGET_AVX512 inline void ScoreBlock(const float* const q[kRows], const float* kt, int64_t ld, int64_t hd,
                                         int64_t j0, float* scores, int64_t score_ld) {
  __m512 acc[kRows][NK];
  for (int r = 0; r < kRows; ++r)
    for (int c = 0; c < NK; ++c) acc[r][c] = _mm512_setzero_ps();
  for (int64_t d = 0; d < hd; ++d) {
    __m512 k[NK];
    for (int c = 0; c < NK; ++c) k[c] = _mm512_loadu_ps(kt + d * ld + j0 + 16 * c);
    for (int r = 0; r < kRows; ++r) {
      const __m512 qv = _mm512_set1_ps(q[r][d]);
      for (int c = 0; c < NK; ++c) acc[r][c] = _mm512_fmadd_ps(qv, k[c], acc[r][c]);
    }
  }
  for (int r = 0; r < kRows; ++r)
    for (int c = 0; c < NK; ++c) _mm512_storeu_ps(scores + r * score_ld + j0 + 16 * c, acc[r][c]);
}

// out[r][c0 .. c0 + 16·NC) += Σ_{j in [j0, j1)} p[r][j] · v_j[c0 ..]; v_j = v + j · v_ld.
template <int NC>
MMS_TARGET_AVX512 inline void WeightedSumBlock(const float* p, int64_t p_ld, const float* v, int64_t v_ld, int64_t j0,
                                               int64_t j1, int64_t c0, float* out, int64_t out_ld) {
  __m512 acc[kRows][NC];
  for (int r = 0; r < kRows; ++r)
    for (int c = 0; c < NC; ++c) acc[r][c] = _mm512_setzero_ps();
  for (int64_t j = j0; j < j1; ++j) {
    __m512 vv[NC];
    for (int c = 0; c < NC; ++c) vv[c] = _mm512_loadu_ps(v + j * v_ld + c0 + 16 * c);
    for (int r = 0; r < kRows; ++r) {
      const __m512 pv = _mm512_set1_ps(p[r * p_ld + j]);
      for (int c = 0; c < NC; ++c) acc[r][c] = _mm512_fmadd_ps(pv, vv[c], acc[r][c]);
    }
  }
  for (int r = 0; r < kRows; ++r) {
    for (int c = 0; c < NC; ++c) {
      float* o = out + r * out_ld + c0 + 16 * c;
      _mm512_storeu_ps(o, _mm512_add_ps(_mm512_loadu_ps(o), acc[r][c]));
    }
  }
}

// Softmax of scores[0 .. keys) in place, scaled first; zero from keys to padded. Returns
// the sum of the exponentials (the row is left unnormalized).
MMS_TARGET_AVX512 inline float SoftmaxRow(float* s, int64_t keys, int64_t padded, float scale) {
  const __m512 vscale = _mm512_set1_ps(scale);
  __m512 vmax = _mm512_set1_ps(-INFINITY);
  int64_t j = 0;
  for (; j + 16 <= keys; j += 16) {
    const __m512 x = _mm512_mul_ps(_mm512_loadu_ps(s + j), vscale);
    _mm512_storeu_ps(s + j, x);
    vmax = _mm512_max_ps(vmax, x);
  }
  if (j < keys) {
    const __mmask16 m = static_cast<__mmask16>((1u << (keys - j)) - 1);
    const __m512 x = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, s + j), vscale);
    _mm512_mask_storeu_ps(s + j, m, x);
    vmax = _mm512_mask_max_ps(vmax, m, vmax, x);
  }
  const __m512 row_max = _mm512_set1_ps(_mm512_reduce_max_ps(vmax));
  __m512 vsum = _mm512_setzero_ps();
  for (j = 0; j + 16 <= keys; j += 16) {
    const __m512 e = Exp16(_mm512_sub_ps(_mm512_loadu_ps(s + j), row_max));
    _mm512_storeu_ps(s + j, e);
    vsum = _mm512_add_ps(vsum, e);
  }
  if (j < keys) {
    const __mmask16 m = static_cast<__mmask16>((1u << (keys - j)) - 1);
    const __m512 e = _mm512_maskz_mov_ps(m, Exp16(_mm512_sub_ps(_mm512_loadu_ps(s + j), row_max)));
    _mm512_storeu_ps(s + j, e);  // zero past keys within this vector
    vsum = _mm512_add_ps(vsum, e);
    j += 16;
  }
  for (; j < padded; j += 16) _mm512_storeu_ps(s + j, _mm512_setzero_ps());
  return _mm512_reduce_add_ps(vsum);
}

struct HeadScratch {
  std::vector<float> kt, scores, out;
};

// One (sequence, head): qkv points at the sequence's first row, column of this head's q.
MMS_TARGET_AVX512 void AttendHead(const float* qkv, float* out, const AttentionShape& s, bool causal,
                                  HeadScratch& scratch) {
  const int64_t seq = s.seq, hd = s.head_dim, width = s.heads * hd, stride = 3 * width;
  const int64_t padded = (seq + 63) / 64 * 64;  // keys padded to whole 64-key blocks
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  if (static_cast<int64_t>(scratch.kt.size()) < hd * padded) scratch.kt.resize(hd * padded);
  if (static_cast<int64_t>(scratch.scores.size()) < kTileRows * padded) scratch.scores.resize(kTileRows * padded);
  if (static_cast<int64_t>(scratch.out.size()) < kTileRows * hd) scratch.out.resize(kTileRows * hd);
  float* kt = scratch.kt.data();
  float* scores = scratch.scores.data();
  float* acc = scratch.out.data();
  // Kᵀ, zero in the padding so that padded scores are finite (they are masked anyway).
  for (int64_t j = 0; j < seq; ++j) {
    const float* k = qkv + j * stride + width;
    for (int64_t d = 0; d < hd; ++d) kt[d * padded + j] = k[d];
  }
  for (int64_t d = 0; d < hd; ++d) std::fill(kt + d * padded + seq, kt + (d + 1) * padded, 0.0f);
  const float* v = qkv + 2 * width;

  for (int64_t i0 = 0; i0 < seq; i0 += kTileRows) {
    const int rows = static_cast<int>(std::min<int64_t>(kTileRows, seq - i0));
    const int micro = (rows + kRows - 1) / kRows;
    // Row r of the tile, a short tile repeating its last row (computed, not stored).
    auto row_of = [&](int r) { return i0 + std::min(r, rows - 1); };
    const float* q[kMicroTiles][kRows];
    for (int mt = 0; mt < micro; ++mt)
      for (int r = 0; r < kRows; ++r) q[mt][r] = qkv + row_of(mt * kRows + r) * stride;
    // Keys this tile reads: all, or up to its last row when causal.
    const int64_t tile_keys = causal ? i0 + rows : seq;
    const int64_t tile_padded = (tile_keys + 15) / 16 * 16;
    // Each 64-key block of Kᵀ (16 KiB at head_dim 64) serves every micro tile from L1.
    int64_t j0 = 0;
    for (; j0 + 64 <= tile_padded; j0 += 64) {
      for (int mt = 0; mt < micro; ++mt) ScoreBlock<4>(q[mt], kt, padded, hd, j0, scores + mt * kRows * padded, padded);
    }
    for (int mt = 0; mt < micro; ++mt) {
      float* sc = scores + mt * kRows * padded;
      switch ((tile_padded - j0) / 16) {
        case 3: ScoreBlock<3>(q[mt], kt, padded, hd, j0, sc, padded); break;
        case 2: ScoreBlock<2>(q[mt], kt, padded, hd, j0, sc, padded); break;
        case 1: ScoreBlock<1>(q[mt], kt, padded, hd, j0, sc, padded); break;
        default: break;
      }
    }
    float inv_sum[kTileRows];
    for (int r = 0; r < micro * kRows; ++r) {
      const int64_t keys = causal ? std::min<int64_t>(row_of(r) + 1, tile_keys) : tile_keys;
      inv_sum[r] = 1.0f / SoftmaxRow(scores + r * padded, keys, tile_padded, scale);
    }
    std::fill(acc, acc + micro * kRows * hd, 0.0f);
    // Likewise each block of values serves every micro tile.
    for (int64_t b0 = 0; b0 < tile_keys; b0 += kKeyBlock) {
      const int64_t b1 = std::min(tile_keys, b0 + kKeyBlock);
      for (int64_t c0 = 0; c0 < hd; c0 += 64) {
        for (int mt = 0; mt < micro; ++mt) {
          const float* p = scores + mt * kRows * padded;
          float* a = acc + mt * kRows * hd;
          switch (std::min<int64_t>(4, (hd - c0) / 16)) {
            case 4: WeightedSumBlock<4>(p, padded, v, stride, b0, b1, c0, a, hd); break;
            case 3: WeightedSumBlock<3>(p, padded, v, stride, b0, b1, c0, a, hd); break;
            case 2: WeightedSumBlock<2>(p, padded, v, stride, b0, b1, c0, a, hd); break;
            default: WeightedSumBlock<1>(p, padded, v, stride, b0, b1, c0, a, hd); break;
          }
        }
      }
    }
    for (int r = 0; r < rows; ++r) {
      float* o = out + (i0 + r) * width;
      const __m512 inv = _mm512_set1_ps(inv_sum[r]);
      for (int64_t c = 0; c < hd; c += 16) _mm512_storeu_ps(o + c, _mm512_mul_ps(_mm512_loadu_ps(acc + r * hd + c), inv));
    }
  }
}

}  // namespace

bool AttentionAvx512Supports(const AttentionShape& s) { return s.head_dim % 16 == 0 && s.head_dim > 0; }

void AttentionAvx512(const float* qkv, float* out, const AttentionShape& s, bool causal) {
  const int64_t width = s.heads * s.head_dim, stride = 3 * width;
#pragma omp parallel
  {
    // Per thread, grown to the longest sequence seen and then reused (at 1500 positions a
    // fresh one per call would be page-faulted in again every layer).
    thread_local HeadScratch scratch;
#pragma omp for collapse(2) schedule(static)
    for (int64_t b = 0; b < s.batch; ++b) {
      for (int64_t h = 0; h < s.heads; ++h) {
        AttendHead(qkv + b * s.seq * stride + h * s.head_dim, out + b * s.seq * width + h * s.head_dim, s, causal,
                   scratch);
      }
    }
  }
}

}  // namespace mms::ops::detail
