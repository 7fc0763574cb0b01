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
//
// The bf16 variant (AttentionAvx512Bf16, for models whose products run in bf16 or int8)
// has the same tiles, but both products take bf16 pairs into vdpbf16ps, which does two
// multiply-adds per lane where vfmadd231ps does one: q and k rounded to bf16 for the
// scores, the softmax's probabilities and v rounded to bf16 for the weighted sum; the sums,
// the scale and the softmax stay float32. Per head, k is laid out as words of two bf16
// (k_j[2t], k_j[2t+1]) with the keys along the vector, v as words (v_2u[c], v_2u+1[c]) with
// the columns along it.
#include <immintrin.h>

// GCC 12 reports the intrinsics' own "undefined" operands (inlined from immintrin.h into
// target-attribute functions) as uninitialized: a false positive (GCC bug 105593, fixed in
// 13), silenced here only.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "base/cpu_features.h"
#include "engine/ops/attention.h"
#include "engine/ops/bf16_convert.h"
#include "engine/ops/fast_exp.h"
#include "engine/ops/fast_exp_avx512.h"

namespace mms::ops::detail {

namespace {

constexpr int kRows = 4;           // query rows per micro tile (the registers' 4 x 64 block)
constexpr int kMicroTiles = 4;     // micro tiles per tile: each block of Kᵀ and V is read once per tile
constexpr int kTileRows = kRows * kMicroTiles;
constexpr int64_t kKeyBlock = 128;  // keys per partial P·V sum

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

// The bf16 variant's target: the AVX-512 set plus AVX512_BF16.
#define MMS_TARGET_AVX512_BF16                                     \
  __attribute__((                                                  \
      target("avx512f,avx512vl,avx512bw,avx512dq,avx512bf16,avx2," \
             "fma,f16c,bmi,bmi2")))

// n floats as n / 2 words of two bf16 (rounded to nearest even): the bf16 conversion of
// the products' activations, whose pairs are these words in little-endian order.
inline void ToBf16Pairs(const float* x, int64_t n, uint32_t* words) {
  ConvertToBf16OnThisThread(x, reinterpret_cast<uint16_t*>(words), n);
}

// scores[r][j0 .. j0 + 16·NK) = q_r · k_j from words: q[r][t] = (q_r[2t], q_r[2t+1]),
// kp[t·ld + j] = (k_j[2t], k_j[2t+1]).
template <int NK>
MMS_TARGET_AVX512_BF16 inline void ScoreBlockBf16(const uint32_t* const q[kRows], const uint32_t* kp, int64_t ld,
                                                  int64_t pairs, int64_t j0, float* scores, int64_t score_ld) {
  __m512 acc[kRows][NK];
  for (int r = 0; r < kRows; ++r)
    for (int c = 0; c < NK; ++c) acc[r][c] = _mm512_setzero_ps();
  for (int64_t t = 0; t < pairs; ++t) {
    __m512bh k[NK];
    for (int c = 0; c < NK; ++c) k[c] = (__m512bh)_mm512_loadu_si512(kp + t * ld + j0 + 16 * c);
    for (int r = 0; r < kRows; ++r) {
      const __m512bh qv = (__m512bh)_mm512_set1_epi32(static_cast<int>(q[r][t]));
      for (int c = 0; c < NK; ++c) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], qv, k[c]);
    }
  }
  for (int r = 0; r < kRows; ++r)
    for (int c = 0; c < NK; ++c) _mm512_storeu_ps(scores + r * score_ld + j0 + 16 * c, acc[r][c]);
}

// out[r][c0 .. c0 + 16·NC) += Σ_{u in [u0, u1)} of the pair of keys 2u, 2u + 1: p[r·p_ld + u]
// holds their probabilities, vp[u·hd + c] their values in column c.
template <int NC>
MMS_TARGET_AVX512_BF16 inline void WeightedSumBlockBf16(const uint32_t* p, int64_t p_ld, const uint32_t* vp, int64_t hd,
                                                        int64_t u0, int64_t u1, int64_t c0, float* out,
                                                        int64_t out_ld) {
  __m512 acc[kRows][NC];
  for (int r = 0; r < kRows; ++r)
    for (int c = 0; c < NC; ++c) acc[r][c] = _mm512_setzero_ps();
  for (int64_t u = u0; u < u1; ++u) {
    __m512bh vv[NC];
    for (int c = 0; c < NC; ++c) vv[c] = (__m512bh)_mm512_loadu_si512(vp + u * hd + c0 + 16 * c);
    for (int r = 0; r < kRows; ++r) {
      const __m512bh pv = (__m512bh)_mm512_set1_epi32(static_cast<int>(p[r * p_ld + u]));
      for (int c = 0; c < NC; ++c) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], pv, vv[c]);
    }
  }
  for (int r = 0; r < kRows; ++r) {
    for (int c = 0; c < NC; ++c) {
      float* o = out + r * out_ld + c0 + 16 * c;
      _mm512_storeu_ps(o, _mm512_add_ps(_mm512_loadu_ps(o), acc[r][c]));
    }
  }
}

struct HeadScratchBf16 {
  std::vector<uint32_t> kp, vp, q, p, k_words;
  std::vector<float> scores, out;
};

// One (sequence, head) with bf16 products; the same tiles as AttendHead.
MMS_TARGET_AVX512_BF16 void AttendHeadBf16(const float* qkv, float* out, const AttentionShape& s, bool causal,
                                           HeadScratchBf16& scratch) {
  const int64_t seq = s.seq, hd = s.head_dim, pairs = hd / 2, width = s.heads * hd, stride = 3 * width;
  const int64_t padded = (seq + 63) / 64 * 64;
  const int64_t key_pairs = (seq + 1) / 2;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  auto grow = [](auto &v, int64_t n) {
    if (static_cast<int64_t>(v.size()) < n) v.resize(n);
  };
  grow(scratch.kp, pairs * padded);
  grow(scratch.vp, key_pairs * hd);
  grow(scratch.q, kTileRows * pairs);
  grow(scratch.p, kTileRows * padded / 2);
  grow(scratch.k_words, pairs);
  grow(scratch.scores, kTileRows * padded);
  grow(scratch.out, kTileRows * hd);
  uint32_t* kp = scratch.kp.data();
  uint32_t* vp = scratch.vp.data();
  float* scores = scratch.scores.data();
  float* acc = scratch.out.data();
  // Keys: each row's words, transposed so that 16 keys of one pair fill a vector; padding 0.
  uint32_t* k_words = scratch.k_words.data();
  for (int64_t j = 0; j < seq; ++j) {
    ToBf16Pairs(qkv + j * stride + width, hd, k_words);
    for (int64_t t = 0; t < pairs; ++t) kp[t * padded + j] = k_words[t];
  }
  for (int64_t t = 0; t < pairs; ++t) std::fill(kp + t * padded + seq, kp + (t + 1) * padded, 0u);
  // Values: rows 2u and 2u + 1 interleaved column by column (a missing last row as 0).
  const __m512i first_half = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  const __m512i second_half = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
  const float* v = qkv + 2 * width;
  for (int64_t u = 0; u < key_pairs; ++u) {
    const float* even = v + 2 * u * stride;
    const float* odd = 2 * u + 1 < seq ? even + stride : nullptr;
    for (int64_t c = 0; c < hd; c += 16) {
      const __m512 a = _mm512_loadu_ps(even + c);
      const __m512 b = odd ? _mm512_loadu_ps(odd + c) : _mm512_setzero_ps();
      const __m512bh w =
          _mm512_cvtne2ps_pbh(_mm512_permutex2var_ps(a, second_half, b), _mm512_permutex2var_ps(a, first_half, b));
      _mm512_storeu_si512(vp + u * hd + c, (__m512i)w);
    }
  }

  const int64_t p_ld = padded / 2;
  for (int64_t i0 = 0; i0 < seq; i0 += kTileRows) {
    const int rows = static_cast<int>(std::min<int64_t>(kTileRows, seq - i0));
    const int micro = (rows + kRows - 1) / kRows;
    auto row_of = [&](int r) { return i0 + std::min(r, rows - 1); };
    for (int r = 0; r < micro * kRows; ++r) ToBf16Pairs(qkv + row_of(r) * stride, hd, scratch.q.data() + r * pairs);
    const uint32_t* q[kMicroTiles][kRows];
    for (int mt = 0; mt < micro; ++mt)
      for (int r = 0; r < kRows; ++r) q[mt][r] = scratch.q.data() + (mt * kRows + r) * pairs;
    const int64_t tile_keys = causal ? i0 + rows : seq;
    const int64_t tile_padded = (tile_keys + 15) / 16 * 16;
    int64_t j0 = 0;
    for (; j0 + 64 <= tile_padded; j0 += 64) {
      for (int mt = 0; mt < micro; ++mt) {
        ScoreBlockBf16<4>(q[mt], kp, padded, pairs, j0, scores + mt * kRows * padded, padded);
      }
    }
    for (int mt = 0; mt < micro; ++mt) {
      float* sc = scores + mt * kRows * padded;
      switch ((tile_padded - j0) / 16) {
        case 3: ScoreBlockBf16<3>(q[mt], kp, padded, pairs, j0, sc, padded); break;
        case 2: ScoreBlockBf16<2>(q[mt], kp, padded, pairs, j0, sc, padded); break;
        case 1: ScoreBlockBf16<1>(q[mt], kp, padded, pairs, j0, sc, padded); break;
        default: break;
      }
    }
    // Softmax in float32, then the probabilities as bf16 pairs (zero past each row's keys,
    // up to tile_padded, so that a pair straddling the last key adds nothing).
    float inv_sum[kTileRows];
    for (int r = 0; r < micro * kRows; ++r) {
      const int64_t keys = causal ? std::min<int64_t>(row_of(r) + 1, tile_keys) : tile_keys;
      inv_sum[r] = 1.0f / SoftmaxRow(scores + r * padded, keys, tile_padded, scale);
      ToBf16Pairs(scores + r * padded, tile_padded, scratch.p.data() + r * p_ld);
    }
    std::fill(acc, acc + micro * kRows * hd, 0.0f);
    const int64_t tile_pairs = (tile_keys + 1) / 2;
    for (int64_t u0 = 0; u0 < tile_pairs; u0 += kKeyBlock / 2) {
      const int64_t u1 = std::min(tile_pairs, u0 + kKeyBlock / 2);
      for (int64_t c0 = 0; c0 < hd; c0 += 64) {
        for (int mt = 0; mt < micro; ++mt) {
          const uint32_t* p = scratch.p.data() + mt * kRows * p_ld;
          float* a = acc + mt * kRows * hd;
          switch (std::min<int64_t>(4, (hd - c0) / 16)) {
            case 4: WeightedSumBlockBf16<4>(p, p_ld, vp, hd, u0, u1, c0, a, hd); break;
            case 3: WeightedSumBlockBf16<3>(p, p_ld, vp, hd, u0, u1, c0, a, hd); break;
            case 2: WeightedSumBlockBf16<2>(p, p_ld, vp, hd, u0, u1, c0, a, hd); break;
            default: WeightedSumBlockBf16<1>(p, p_ld, vp, hd, u0, u1, c0, a, hd); break;
          }
        }
      }
    }
    for (int r = 0; r < rows; ++r) {
      float* o = out + (i0 + r) * width;
      const __m512 inv = _mm512_set1_ps(inv_sum[r]);
      for (int64_t c = 0; c < hd; c += 16)
        _mm512_storeu_ps(o + c, _mm512_mul_ps(_mm512_loadu_ps(acc + r * hd + c), inv));
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

bool CpuHasAvx512Bf16() {
  static const bool yes = mms::CpuHasAvx512() && __builtin_cpu_supports("avx512bf16");
  return yes;
}

void AttentionAvx512Bf16(const float* qkv, float* out, const AttentionShape& s, bool causal) {
  const int64_t width = s.heads * s.head_dim, stride = 3 * width;
#pragma omp parallel
  {
    thread_local HeadScratchBf16 scratch;
#pragma omp for collapse(2) schedule(static)
    for (int64_t b = 0; b < s.batch; ++b) {
      for (int64_t h = 0; h < s.heads; ++h) {
        AttendHeadBf16(qkv + b * s.seq * stride + h * s.head_dim, out + b * s.seq * width + h * s.head_dim, s, causal,
                       scratch);
      }
    }
  }
}

}  // namespace mms::ops::detail
