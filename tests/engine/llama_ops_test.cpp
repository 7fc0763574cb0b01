// The LLaMA-family kernels against plain references: RMSNorm, the SiLU gate, and paged
// attention (blocked, running softmax) against its double-precision loop over all
// positions and, for one sequence from position 0 with as many kv heads as heads,
// against the engine's existing causal attention reference on a contiguous layout.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <vector>

#include "engine/ops/attention.h"
#include "engine/ops/rms_norm.h"
#include "engine/ops/silu_mul.h"
#include "layers/paged_attention.h"
#include "test_support.h"

namespace mms {
namespace {

using testing::NormalizedMaxError;
using testing::Random;

TEST(LlamaOpsTest, RmsNormMatchesReferenceAcrossWidths) {
  for (int64_t cols : {1, 7, 15, 16, 17, 63, 64, 65, 2048}) {
    const int64_t rows = 5;
    auto x = Random(rows * cols, 1, 3.0f);
    x[0] += 100.0f;  // a large value in a row
    const auto w = Random(cols, 2);
    std::vector<float> fast(rows * cols), ref(rows * cols);
    ops::RmsNorm(x.data(), w.data(), fast.data(), rows, cols, 1e-5f);
    ops::reference::RmsNorm(x.data(), w.data(), ref.data(), rows, cols, 1e-5f);
    EXPECT_LT(NormalizedMaxError(fast, ref), 1e-6) << cols;
    // By hand for one element: w * x / sqrt(mean(x²) + eps).
    double sq = 0;
    for (int64_t c = 0; c < cols; ++c) sq += static_cast<double>(x[c]) * x[c];
    EXPECT_NEAR(ref[0], w[0] * x[0] / std::sqrt(sq / cols + 1e-5), 1e-5 * std::fabs(ref[0]) + 1e-7);
    // In place.
    std::vector<float> inplace = x;
    ops::RmsNorm(inplace.data(), w.data(), inplace.data(), rows, cols, 1e-5f);
    EXPECT_EQ(inplace, fast);
  }
}

TEST(LlamaOpsTest, SiluMulMatchesReference) {
  for (int64_t width : {1, 15, 16, 17, 172, 5632}) {
    const int64_t rows = 3;
    auto gu = Random(rows * 2 * width, 3, 4.0f);
    gu[0] = -200.0f;  // exp overflow in silu must give 0, not NaN
    std::vector<float> fast(rows * width), ref(rows * width);
    ops::SiluMul(gu.data(), fast.data(), rows, width);
    ops::reference::SiluMul(gu.data(), ref.data(), rows, width);
    EXPECT_LT(NormalizedMaxError(fast, ref), 1e-6) << width;
    EXPECT_FALSE(std::isnan(fast[0]));
    const double g = gu[1], u = gu[width + 1];
    if (width > 1) {
      EXPECT_NEAR(ref[1], g / (1 + std::exp(-g)) * u, 1e-5 * std::fabs(ref[1]) + 1e-7);
    }
  }
}

struct PagedCase {
  int heads, kv_heads, head_dim, block_tokens;
};

class PagedAttentionTest : public ::testing::TestWithParam<PagedCase> {};

TEST_P(PagedAttentionTest, BlockedMatchesReferenceOnMixedChunks) {
  const auto p = GetParam();
  const layers::KvCacheShape shape{2, p.kv_heads, p.head_dim, p.block_tokens};
  const int num_blocks = 200;
  layers::PagedKvCache cache(shape, num_blocks);
  // Fill every block of both layers with random keys and values.
  const auto fill = Random(static_cast<size_t>(num_blocks) * shape.block_bytes() / sizeof(float), 7);
  size_t at = 0;
  const size_t block_matrix = static_cast<size_t>(p.block_tokens) * shape.row_floats();
  for (int b = 0; b < num_blocks; ++b) {
    for (int l = 0; l < 2; ++l) {
      std::copy_n(fill.begin() + at, block_matrix, cache.keys(b, l)), at += block_matrix;
      std::copy_n(fill.begin() + at, block_matrix, cache.values(b, l)), at += block_matrix;
    }
  }
  // Chunks: a decode at position 0, a long decode, a prefill starting mid-block, a prefill
  // from 0, a decode on a block boundary; prefills of more rows than one tile of the tiled
  // kernel (16), from 0 and from mid-block, ending mid-tile; a chunk of two rows. Block
  // tables are shuffled block ids.
  struct Spec {
    int first, rows;
  };
  const Spec specs[] = {{0, 1}, {70, 1}, {13, 9}, {0, 11}, {p.block_tokens * 3, 1}, {21, 33}, {0, 40}, {5, 2}};
  std::vector<std::vector<int32_t>> tables;
  std::vector<layers::AttentionChunk> chunks;
  int64_t rows = 0;
  int next = 0;
  for (const auto& s : specs) {
    const int blocks = (s.first + s.rows + p.block_tokens - 1) / p.block_tokens;
    std::vector<int32_t> t(blocks);
    for (auto& id : t) id = (next++ * 37) % num_blocks;
    tables.push_back(std::move(t));
  }
  for (size_t i = 0; i < std::size(specs); ++i) {
    chunks.push_back({rows, specs[i].rows, specs[i].first, tables[i]});
    rows += specs[i].rows;
  }
  const int64_t q_stride = static_cast<int64_t>(p.heads) * p.head_dim + 5;  // rows padded: stride != width
  const auto q = Random(rows * q_stride, 8);
  const layers::PagedAttentionShape s{p.heads, p.kv_heads, p.head_dim};
  for (int threads : {1, 3}) {
    std::vector<float> fast(rows * p.heads * p.head_dim), ref(fast.size());
    std::vector<float> scratch(layers::PagedAttentionScratchFloats(s, p.block_tokens, threads));
    layers::PagedAttention(q.data(), q_stride, chunks, s, cache, 1, fast.data(), scratch.data(), threads);
    layers::reference::PagedAttention(q.data(), q_stride, chunks, s, cache, 1, ref.data());
    EXPECT_LT(NormalizedMaxError(fast, ref), 2e-6) << threads << " threads";
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, PagedAttentionTest,
                         ::testing::Values(PagedCase{4, 2, 16, 4}, PagedCase{8, 1, 64, 16}, PagedCase{3, 3, 17, 1},
                                           PagedCase{32, 4, 64, 16}, PagedCase{2, 2, 8, 5}));

TEST(PagedAttentionTest, OneSequenceMatchesContiguousCausalAttention) {
  // heads == kv_heads and one chunk from position 0: plain causal self-attention, whose
  // reference (ops::reference::Attention) knows nothing of blocks.
  const int heads = 3, hd = 16, seq = 23, bt = 4;
  const int64_t width = heads * hd;
  const auto qkv = Random(seq * 3 * width, 11);
  std::vector<float> want(seq * width);
  ops::reference::Attention(qkv.data(), want.data(), {1, seq, heads, hd}, /*causal=*/true);

  layers::PagedKvCache cache({1, heads, hd, bt}, 10);
  const std::vector<int32_t> table = {7, 2, 9, 0, 5, 1};
  const std::vector<layers::AttentionChunk> chunks = {{0, seq, 0, table}};
  layers::WriteKvRows(chunks, qkv.data() + width, qkv.data() + 2 * width, 3 * width, cache, 0);
  const layers::PagedAttentionShape s{heads, heads, hd};
  std::vector<float> scratch(layers::PagedAttentionScratchFloats(s, bt, 2)), got(seq * width);
  layers::PagedAttention(qkv.data(), 3 * width, chunks, s, cache, 0, got.data(), scratch.data(), 2);
  EXPECT_LT(NormalizedMaxError(got, want), 2e-6);
}

}  // namespace
}  // namespace mms
