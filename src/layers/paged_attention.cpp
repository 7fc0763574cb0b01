#include "layers/paged_attention.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "engine/ops/fast_exp.h"
#include "engine/ops/fast_exp_avx512.h"

namespace mms::layers {

namespace {

// The chunk holding row t (chunks are in row order).
size_t ChunkOfRow(std::span<const AttentionChunk> chunks, int64_t t) {
  size_t lo = 0, hi = chunks.size();
  while (hi - lo > 1) {
    const size_t mid = (lo + hi) / 2;
    if (chunks[mid].row_begin <= t) lo = mid; else hi = mid;
  }
  return lo;
}

// Query rows of one chunk that a work item takes together (AttendTileAvx512): each key and
// value row is then read once for all of them, and the scores and softmax run 16 rows wide.
constexpr int kTileRows = 16;

// Per work item, the larger of: a row item's n_rep query heads' accumulators, running max
// and sum, and the scores of one block; a tile item's transposed queries [hd][16],
// accumulators [16][hd], scores of one block [bt][16] and 16 rescaling factors.
size_t ItemScratch(const PagedAttentionShape& s, int block_tokens) {
  const size_t n_rep = static_cast<size_t>(s.heads / s.kv_heads);
  const size_t hd = static_cast<size_t>(s.head_dim), bt = static_cast<size_t>(block_tokens);
  return std::max(n_rep * (hd + bt + 2), kTileRows * (2 * hd + bt + 1));
}

}  // namespace

size_t PagedAttentionScratchFloats(const PagedAttentionShape& shape, int block_tokens, int threads) {
  return ItemScratch(shape, block_tokens) * static_cast<size_t>(std::max(threads, 1));
}

void WriteKvRows(std::span<const AttentionChunk> chunks, const float* k, const float* v, int64_t stride,
                 PagedKvCache& cache, int layer) {
  const int bt = cache.shape().block_tokens;
  const int64_t width = cache.shape().row_floats();
  for (const auto& c : chunks) {
    for (int64_t i = 0; i < c.rows; ++i) {
      const int64_t pos = c.first_position + i;
      const int32_t block = c.block_table[pos / bt];
      const int64_t slot = (pos % bt) * width;
      const int64_t t = c.row_begin + i;
      std::memcpy(cache.keys(block, layer) + slot, k + t * stride, width * sizeof(float));
      std::memcpy(cache.values(block, layer) + slot, v + t * stride, width * sizeof(float));
    }
  }
}

namespace {

// What every work item of one PagedAttention call shares.
struct AttendArgs {
  const float* q;
  int64_t q_stride;
  std::span<const AttentionChunk> chunks;
  const PagedAttentionShape* s;
  const PagedKvCache* cache;
  int layer;
  float* out;
  int bt;
  int64_t kv_width;
  float scale;
};

// One work item: query row t and kv head g with the n_rep query heads that share it, so
// that a key/value row is read once for all of them. `mine` is the thread's scratch.
// Inlined into a baseline and an AVX-512 variant: the simd loops (dot products, exp,
// the weighted sum of values) take the variant's vector width.
[[gnu::always_inline]] inline void AttendItem(const AttendArgs& a, int64_t item, float* mine) {
  const PagedAttentionShape& s = *a.s;
  const int hd = s.head_dim;
  const int n_rep = s.heads / s.kv_heads;
  const int bt = a.bt;
  const int64_t kv_width = a.kv_width;
  float* acc = mine;                                       // [n_rep][hd]
  float* run_max = acc + static_cast<size_t>(n_rep) * hd;  // [n_rep]
  float* run_sum = run_max + n_rep;                        // [n_rep]
  float* scores = run_sum + n_rep;                         // [n_rep][bt]

  const int64_t t = item / s.kv_heads;
  const int g = static_cast<int>(item % s.kv_heads);
  const AttentionChunk& c = a.chunks[ChunkOfRow(a.chunks, t)];
  const int64_t last = c.first_position + (t - c.row_begin);  // attends to [0, last]
  const float* q_rows = a.q + t * a.q_stride + static_cast<int64_t>(g) * n_rep * hd;
  std::fill(acc, acc + static_cast<size_t>(n_rep) * hd, 0.0f);
  std::fill(run_max, run_max + n_rep, -INFINITY);
  std::fill(run_sum, run_sum + n_rep, 0.0f);

  const int64_t blocks = last / bt + 1;
  for (int64_t b = 0; b < blocks; ++b) {
    const int32_t block = c.block_table[b];
    const int n = static_cast<int>(std::min<int64_t>(bt, last + 1 - b * bt));
    const float* keys = a.cache->keys(block, a.layer) + static_cast<int64_t>(g) * hd;
    const float* values = a.cache->values(block, a.layer) + static_cast<int64_t>(g) * hd;
    for (int r = 0; r < n_rep; ++r) {
      const float* qr = q_rows + static_cast<int64_t>(r) * hd;
      float* sc = scores + static_cast<size_t>(r) * bt;
      for (int j = 0; j < n; ++j) {
        const float* kj = keys + j * kv_width;
        float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
        for (int d = 0; d < hd; ++d) dot += qr[d] * kj[d];
        sc[j] = dot * a.scale;
      }
      float block_max = -INFINITY;
#pragma omp simd reduction(max : block_max)
      for (int j = 0; j < n; ++j) block_max = std::max(block_max, sc[j]);
      // Running softmax: rescale what was accumulated under the old maximum.
      const float new_max = std::max(run_max[r], block_max);
      const float correction = std::exp(run_max[r] - new_max);  // exp(-inf) = 0 on the first block
      float* ar = acc + static_cast<size_t>(r) * hd;
      if (correction != 1.0f) {
#pragma omp simd
        for (int d = 0; d < hd; ++d) ar[d] *= correction;
      }
      float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
      for (int j = 0; j < n; ++j) {
        sc[j] = ops::ExpApprox(sc[j] - new_max);
        sum += sc[j];
      }
      for (int j = 0; j < n; ++j) {
        const float p = sc[j];
        const float* vj = values + j * kv_width;
#pragma omp simd
        for (int d = 0; d < hd; ++d) ar[d] += p * vj[d];
      }
      run_max[r] = new_max;
      run_sum[r] = run_sum[r] * correction + sum;
    }
  }
  for (int r = 0; r < n_rep; ++r) {
    float* o = a.out + t * static_cast<int64_t>(s.heads) * hd + (static_cast<int64_t>(g) * n_rep + r) * hd;
    const float inv = 1.0f / run_sum[r];
    const float* ar = acc + static_cast<size_t>(r) * hd;
#pragma omp simd
    for (int d = 0; d < hd; ++d) o[d] = ar[d] * inv;
  }
}

void AttendItemBaseline(const AttendArgs& a, int64_t item, float* mine) { AttendItem(a, item, mine); }

// The same item in AVX-512 intrinsics for head_dim a multiple of 16 (every LLaMA size):
// the compiler's own vectorization of AttendItem ended each dot product in sixteen
// scalar adds from the stack and chained the weighted sum of values through memory key
// after key, about 5 GFLOP/s. Same order of operations per lane, same running softmax.
MMS_TARGET_AVX512 void AttendItemAvx512(const AttendArgs& a, int64_t item, float* mine) {
  const PagedAttentionShape& s = *a.s;
  const int hd = s.head_dim;
  if (hd % 16 != 0 || hd > 512) {
    AttendItem(a, item, mine);  // compiled here with AVX-512 enabled
    return;
  }
  const int nv = hd / 16;
  const int n_rep = s.heads / s.kv_heads;
  const int bt = a.bt;
  const int64_t kv_width = a.kv_width;
  float* acc = mine;                                       // [n_rep][hd]
  float* run_max = acc + static_cast<size_t>(n_rep) * hd;  // [n_rep]
  float* run_sum = run_max + n_rep;                        // [n_rep]
  float* scores = run_sum + n_rep;                         // [n_rep][bt]

  const int64_t t = item / s.kv_heads;
  const int g = static_cast<int>(item % s.kv_heads);
  const AttentionChunk& c = a.chunks[ChunkOfRow(a.chunks, t)];
  const int64_t last = c.first_position + (t - c.row_begin);
  const float* q_rows = a.q + t * a.q_stride + static_cast<int64_t>(g) * n_rep * hd;
  std::fill(acc, acc + static_cast<size_t>(n_rep) * hd, 0.0f);
  std::fill(run_max, run_max + n_rep, -INFINITY);
  std::fill(run_sum, run_sum + n_rep, 0.0f);

  const int64_t blocks = last / bt + 1;
  for (int64_t b = 0; b < blocks; ++b) {
    const int32_t block = c.block_table[b];
    const int n = static_cast<int>(std::min<int64_t>(bt, last + 1 - b * bt));
    const float* keys = a.cache->keys(block, a.layer) + static_cast<int64_t>(g) * hd;
    const float* values = a.cache->values(block, a.layer) + static_cast<int64_t>(g) * hd;
    for (int r = 0; r < n_rep; ++r) {
      const float* qr = q_rows + static_cast<int64_t>(r) * hd;
      float* sc = scores + static_cast<size_t>(r) * bt;
      float block_max = -INFINITY;
      for (int j = 0; j < n; ++j) {
        const float* kj = keys + j * kv_width;
        __m512 dot = _mm512_mul_ps(_mm512_loadu_ps(qr), _mm512_loadu_ps(kj));
        for (int v = 1; v < nv; ++v) dot = _mm512_fmadd_ps(_mm512_loadu_ps(qr + 16 * v), _mm512_loadu_ps(kj + 16 * v), dot);
        sc[j] = _mm512_reduce_add_ps(dot) * a.scale;
        block_max = std::max(block_max, sc[j]);
      }
      const float new_max = std::max(run_max[r], block_max);
      const float correction = std::exp(run_max[r] - new_max);  // exp(-inf) = 0 on the first block
      float sum = 0.0f;
      for (int j = 0; j < n; ++j) {
        sc[j] = ops::ExpApprox(sc[j] - new_max);
        sum += sc[j];
      }
      float* ar = acc + static_cast<size_t>(r) * hd;
      const __m512 corr = _mm512_set1_ps(correction);
      for (int v = 0; v < nv; ++v) {
        __m512 x = _mm512_mul_ps(_mm512_loadu_ps(ar + 16 * v), corr);
        for (int j = 0; j < n; ++j) {
          x = _mm512_fmadd_ps(_mm512_set1_ps(sc[j]), _mm512_loadu_ps(values + j * kv_width + 16 * v), x);
        }
        _mm512_storeu_ps(ar + 16 * v, x);
      }
      run_max[r] = new_max;
      run_sum[r] = run_sum[r] * correction + sum;
    }
  }
  for (int r = 0; r < n_rep; ++r) {
    float* o = a.out + t * static_cast<int64_t>(s.heads) * hd + (static_cast<int64_t>(g) * n_rep + r) * hd;
    const __m512 inv = _mm512_set1_ps(1.0f / run_sum[r]);
    const float* ar = acc + static_cast<size_t>(r) * hd;
    for (int v = 0; v < nv; ++v) _mm512_storeu_ps(o + 16 * v, _mm512_mul_ps(_mm512_loadu_ps(ar + 16 * v), inv));
  }
}

// Up to kTileRows consecutive rows of one chunk.
struct Tile {
  int64_t row_begin;
  int rows;
  size_t chunk;
};

// Scores of NK consecutive keys for the 16 rows of a tile, keys at k (row stride kv_width),
// written to scores[x][16]; a key after a row's own position scores -inf for that row (the
// lanes past the tile's rows see every key, so their sums stay finite). qt: [hd][16].
template <int NK>
MMS_TARGET_AVX512 inline __m512 ScoreKeys16(const float* qt, const float* k, int64_t kv_width, int hd,
                                            int64_t first_key, int64_t p0, float* scores, __m512 block_max) {
  __m512 acc[NK];
  for (int x = 0; x < NK; ++x) acc[x] = _mm512_setzero_ps();
  for (int d = 0; d < hd; ++d) {
    const __m512 q = _mm512_loadu_ps(qt + 16 * d);
    for (int x = 0; x < NK; ++x) acc[x] = _mm512_fmadd_ps(q, _mm512_set1_ps(k[x * kv_width + d]), acc[x]);
  }
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  for (int x = 0; x < NK; ++x) {
    // Row i (position p0 + i) sees key first_key + x when p0 + i >= first_key + x.
    const __mmask16 sees = _mm512_cmpge_epi32_mask(lane, _mm512_set1_epi32(static_cast<int32_t>(first_key + x - p0)));
    const __m512 sc = _mm512_mask_blend_ps(sees, _mm512_set1_ps(-INFINITY), acc[x]);
    _mm512_storeu_ps(scores + 16 * x, sc);
    block_max = _mm512_max_ps(block_max, sc);
  }
  return block_max;
}

// A tile of prefill rows and kv head g, for head_dim a multiple of 16: per query head of the
// group, the tile's queries are transposed (scaled by 1/sqrt(hd)) so that one key row
// gives the 16 rows' scores in hd multiply-adds, with the running softmax 16 rows wide and
// P·V accumulated for the 16 rows at once, each value vector loaded once for all of them.
// A row item per query row (AttendItemAvx512) did a horizontal sum per score and a scalar
// exp per probability.
MMS_TARGET_AVX512 void AttendTileAvx512(const AttendArgs& a, const Tile& tile, int g, float* mine) {
  const PagedAttentionShape& s = *a.s;
  const int hd = s.head_dim;
  const int nv = hd / 16;
  const int n_rep = s.heads / s.kv_heads;
  const int bt = a.bt;
  const int64_t kv_width = a.kv_width;
  const AttentionChunk& c = a.chunks[tile.chunk];
  const int64_t p0 = c.first_position + (tile.row_begin - c.row_begin);  // the tile's first row's position
  const int64_t last = p0 + tile.rows - 1;                               // the last row attends to [0, last]
  float* qt = mine;                                                      // [hd][16]
  float* acc = qt + static_cast<size_t>(hd) * kTileRows;                 // [16][hd]
  float* scores = acc + static_cast<size_t>(hd) * kTileRows;             // [bt][16]
  float* factor = scores + static_cast<size_t>(bt) * kTileRows;          // [16]
  const int64_t blocks = last / bt + 1;

  for (int r = 0; r < n_rep; ++r) {
    const int64_t h = static_cast<int64_t>(g) * n_rep + r;
    for (int i = 0; i < kTileRows; ++i) {
      if (i < tile.rows) {
        const float* qi = a.q + (tile.row_begin + i) * a.q_stride + h * hd;
        for (int d = 0; d < hd; ++d) qt[d * kTileRows + i] = qi[d] * a.scale;
      } else {
        for (int d = 0; d < hd; ++d) qt[d * kTileRows + i] = 0.0f;
      }
    }
    std::fill(acc, acc + static_cast<size_t>(hd) * kTileRows, 0.0f);
    __m512 run_max = _mm512_set1_ps(-INFINITY), run_sum = _mm512_setzero_ps();

    for (int64_t b = 0; b < blocks; ++b) {
      const int n = static_cast<int>(std::min<int64_t>(bt, last + 1 - b * bt));
      const float* keys = a.cache->keys(c.block_table[b], a.layer) + static_cast<int64_t>(g) * hd;
      const float* values = a.cache->values(c.block_table[b], a.layer) + static_cast<int64_t>(g) * hd;
      __m512 block_max = _mm512_set1_ps(-INFINITY);
      int j = 0;
      for (; j + 4 <= n; j += 4) {
        block_max = ScoreKeys16<4>(qt, keys + j * kv_width, kv_width, hd, b * bt + j, p0, scores + 16 * j, block_max);
      }
      for (; j < n; ++j) {
        block_max = ScoreKeys16<1>(qt, keys + j * kv_width, kv_width, hd, b * bt + j, p0, scores + 16 * j, block_max);
      }
      // Every row sees position 0, so after the first block every lane's maximum is finite;
      // on it, exp(-inf - max) = 0 rescales the empty sums.
      const __m512 new_max = _mm512_max_ps(run_max, block_max);
      const __m512 correction = ops::Exp16(_mm512_sub_ps(run_max, new_max));
      __m512 sum = _mm512_setzero_ps();
      for (j = 0; j < n; ++j) {
        const __m512 p = ops::Exp16(_mm512_sub_ps(_mm512_loadu_ps(scores + 16 * j), new_max));
        _mm512_storeu_ps(scores + 16 * j, p);
        sum = _mm512_add_ps(sum, p);
      }
      run_sum = _mm512_fmadd_ps(run_sum, correction, sum);
      run_max = new_max;
      _mm512_storeu_ps(factor, correction);
      for (int v = 0; v < nv; ++v) {
        __m512 o[kTileRows];
        for (int i = 0; i < kTileRows; ++i) {
          o[i] = _mm512_mul_ps(_mm512_loadu_ps(acc + i * hd + 16 * v), _mm512_set1_ps(factor[i]));
        }
        for (j = 0; j < n; ++j) {
          const __m512 vj = _mm512_loadu_ps(values + j * kv_width + 16 * v);
          for (int i = 0; i < kTileRows; ++i) o[i] = _mm512_fmadd_ps(_mm512_set1_ps(scores[16 * j + i]), vj, o[i]);
        }
        for (int i = 0; i < kTileRows; ++i) _mm512_storeu_ps(acc + i * hd + 16 * v, o[i]);
      }
    }
    _mm512_storeu_ps(factor, _mm512_div_ps(_mm512_set1_ps(1.0f), run_sum));
    for (int i = 0; i < tile.rows; ++i) {
      float* o = a.out + (tile.row_begin + i) * static_cast<int64_t>(s.heads) * hd + h * hd;
      const __m512 inv = _mm512_set1_ps(factor[i]);
      for (int v = 0; v < nv; ++v)
        _mm512_storeu_ps(o + 16 * v, _mm512_mul_ps(_mm512_loadu_ps(acc + i * hd + 16 * v), inv));
    }
  }
}

// Below this many multiply-adds (scores and weighted values over every head) a step's
// attention runs on the calling thread: a decode step of a short sequence is tens of
// microseconds, less than a parallel region costs on a machine whose other cores are busy.
constexpr int64_t kParallelMacs = 1 << 18;

}  // namespace

void PagedAttention(const float* q, int64_t q_stride, std::span<const AttentionChunk> chunks,
                    const PagedAttentionShape& s, const PagedKvCache& cache, int layer, float* out, float* scratch,
                    int threads) {
  if (chunks.empty()) return;
  const int bt = cache.shape().block_tokens;
  const AttendArgs args{q, q_stride, chunks, &s, &cache, layer, out, bt, cache.shape().row_floats(),
                        1.0f / std::sqrt(static_cast<float>(s.head_dim))};
  const int64_t total_rows = chunks.back().row_begin + chunks.back().rows;
  int64_t macs = 0;
  for (const auto& c : chunks) {
    // Rows of the chunk attend to first_position + 1 .. first_position + rows positions.
    macs += c.rows * (c.first_position + (c.rows + 1) / 2 + 1);
  }
  macs *= 2 * static_cast<int64_t>(s.heads) * s.head_dim;
  const size_t per_item = ItemScratch(s, bt);
  threads = std::max(threads, 1);
  const bool avx512 = mms::CpuHasAvx512();
  const auto attend = avx512 ? AttendItemAvx512 : AttendItemBaseline;
  const bool tiled = avx512 && s.head_dim % 16 == 0 && s.head_dim <= 512;

  // Work items: (tile, kv head). Where the tile kernel runs, a chunk's rows go in tiles of
  // up to kTileRows (a decode step is a tile of one row, which takes the row kernel); else
  // every row is its own tile.
  std::vector<Tile> tiles;
  tiles.reserve(static_cast<size_t>(tiled ? total_rows / kTileRows + chunks.size() : total_rows));
  for (size_t ci = 0; ci < chunks.size(); ++ci) {
    const int step = tiled ? kTileRows : 1;
    for (int64_t i = 0; i < chunks[ci].rows; i += step) {
      tiles.push_back({chunks[ci].row_begin + i, static_cast<int>(std::min<int64_t>(step, chunks[ci].rows - i)), ci});
    }
  }
  const int64_t items = static_cast<int64_t>(tiles.size()) * s.kv_heads;

  // Items differ in length (a decode row of a long sequence against a prefill tile near
  // its start): dynamic schedule.
#pragma omp parallel num_threads(threads) if (items > 1 && macs >= kParallelMacs)
  {
    float* mine = scratch + per_item * static_cast<size_t>(omp_get_thread_num());
#pragma omp for schedule(dynamic, 1)
    for (int64_t item = 0; item < items; ++item) {
      const Tile& tile = tiles[static_cast<size_t>(item / s.kv_heads)];
      const int g = static_cast<int>(item % s.kv_heads);
      if (tile.rows > 1) {
        AttendTileAvx512(args, tile, g, mine);
      } else {
        attend(args, tile.row_begin * s.kv_heads + g, mine);
      }
    }
  }
}

namespace reference {

void PagedAttention(const float* q, int64_t q_stride, std::span<const AttentionChunk> chunks,
                    const PagedAttentionShape& s, const PagedKvCache& cache, int layer, float* out) {
  const int bt = cache.shape().block_tokens;
  const int hd = s.head_dim;
  const int n_rep = s.heads / s.kv_heads;
  const int64_t kv_width = cache.shape().row_floats();
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  for (const auto& c : chunks) {
    for (int64_t i = 0; i < c.rows; ++i) {
      const int64_t t = c.row_begin + i;
      const int64_t len = c.first_position + i + 1;
      for (int h = 0; h < s.heads; ++h) {
        const int g = h / n_rep;
        std::vector<double> p(len);
        double max_score = -INFINITY;
        for (int64_t pos = 0; pos < len; ++pos) {
          const float* k = cache.keys(c.block_table[pos / bt], layer) + (pos % bt) * kv_width + g * hd;
          double dot = 0;
          for (int d = 0; d < hd; ++d) dot += static_cast<double>(q[t * q_stride + h * hd + d]) * k[d];
          p[pos] = dot * scale;
          max_score = std::max(max_score, p[pos]);
        }
        double denom = 0;
        for (auto& x : p) denom += (x = std::exp(x - max_score));
        for (int d = 0; d < hd; ++d) {
          double acc = 0;
          for (int64_t pos = 0; pos < len; ++pos) {
            acc += p[pos] * cache.values(c.block_table[pos / bt], layer)[(pos % bt) * kv_width + g * hd + d];
          }
          out[t * s.heads * hd + h * hd + d] = static_cast<float>(acc / denom);
        }
      }
    }
  }
}

}  // namespace reference

}  // namespace mms::layers
