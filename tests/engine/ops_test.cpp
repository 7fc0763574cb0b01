// Every fast kernel against its plain reference on random inputs, across sizes around
// the vector widths (N-1, N, N+1) and with each epilogue.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <random>
#include <vector>

#include "base/cpu_features.h"
#include "engine/ops/activation.h"
#include "engine/ops/attention.h"
#include "engine/ops/bf16_convert.h"
#include "engine/ops/layer_norm.h"
#include "engine/ops/matmul.h"
#include "engine/ops/quantize.h"
#include "test_support.h"

namespace mms::ops {
namespace {

using testing::NormalizedMaxError;
using testing::Random;

struct MatMulCase {
  int64_t m, n, k;
  Activation act;
  bool accumulate;
  bool bias;
};

class MatMulTest : public ::testing::TestWithParam<MatMulCase> {};

TEST_P(MatMulTest, FastMatchesReference) {
  const auto c = GetParam();
  const auto a = Random(c.m * c.k, 1), b = Random(c.k * c.n, 2, 0.1f), bias = Random(c.n, 3);
  std::vector<float> fast = Random(c.m * c.n, 4), ref = fast;
  MatMul(a.data(), b.data(), c.bias ? bias.data() : nullptr, fast.data(), c.m, c.n, c.k, {c.act, c.accumulate});
  reference::MatMul(a.data(), b.data(), c.bias ? bias.data() : nullptr, ref.data(), c.m, c.n, c.k, {c.act, c.accumulate});
  EXPECT_LT(NormalizedMaxError(fast, ref), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, MatMulTest,
    ::testing::Values(MatMulCase{1, 1, 1, Activation::kNone, false, false}, MatMulCase{15, 17, 31, Activation::kNone, false, true},
                      MatMulCase{16, 16, 32, Activation::kGelu, false, true}, MatMulCase{17, 15, 33, Activation::kQuickGelu, false, true},
                      MatMulCase{50, 192, 64, Activation::kNone, true, true}, MatMulCase{7, 64, 256, Activation::kGeluTanh, true, false},
                      MatMulCase{77, 33, 65, Activation::kRelu, false, true}, MatMulCase{3, 1000, 7, Activation::kQuickGelu, true, true}));

TEST(LayerNormTest, FastMatchesReferenceAcrossWidths) {
  for (int64_t cols : {1, 7, 15, 16, 17, 64, 768, 769}) {
    const int64_t rows = 5;
    auto x = Random(rows * cols, 10 + cols, 3.0f);
    for (auto& v : x) v += 100.0f;  // a large mean tests the centred variance
    const auto gamma = Random(cols, 20), beta = Random(cols, 30);
    std::vector<float> fast(rows * cols), ref(rows * cols);
    LayerNorm(x.data(), gamma.data(), beta.data(), fast.data(), rows, cols, 1e-5f);
    reference::LayerNorm(x.data(), gamma.data(), beta.data(), ref.data(), rows, cols, 1e-5f);
    EXPECT_LT(NormalizedMaxError(fast, ref), 1e-5) << "cols=" << cols;
  }
}

TEST(LayerNormTest, Bf16OutputIsTheRoundedFloatOutput) {
  for (int64_t cols : {7, 64, 77, 768}) {
    const int64_t rows = 70;  // past the size where rows go to the thread team
    auto x = Random(rows * cols, 3);
    for (auto& v : x) v += 50.0f;  // a large mean
    const auto gamma = Random(cols, 4), beta = Random(cols, 5);
    std::vector<float> normed(x.size());
    std::vector<uint16_t> expected(x.size()), got(x.size());
    LayerNorm(x.data(), gamma.data(), beta.data(), normed.data(), rows, cols, 1e-5f);
    reference::ConvertToBf16(normed.data(), expected.data(), rows * cols);
    LayerNormToBf16(x.data(), gamma.data(), beta.data(), got.data(), rows, cols, 1e-5f);
    EXPECT_EQ(got, expected) << "cols=" << cols;
  }
}

// The fused quantization gives exactly the codes, scale and zero point of quantizing the
// float32 rows, across widths that end mid-vector, row counts on and off the thread team,
// and a range that is all positive (zero point 0) as well as one around 0.
TEST(LayerNormTest, U8OutputIsTheQuantizedFloatOutput) {
  for (int64_t cols : {1, 7, 16, 17, 64, 768, 769}) {
    for (int64_t rows : {1, 3, 120}) {
      for (float shift : {0.0f, 10.0f}) {
        auto x = Random(rows * cols, 40 + cols, 2.0f);
        for (auto& v : x) v += 50.0f;  // a large mean
        const auto gamma = Random(cols, 41);
        auto beta = Random(cols, 42);
        for (auto& v : beta) v += shift;  // with 10: every normalized value above 0
        std::vector<float> normed(x.size());
        std::vector<uint8_t> expected(x.size()), got(x.size(), 7);
        LayerNorm(x.data(), gamma.data(), beta.data(), normed.data(), rows, cols, 1e-5f);
        for (int32_t max_code : {255, 127}) {
          const U8Params want = QuantizeU8(normed.data(), rows * cols, expected.data(), max_code);
          const U8Params have =
              LayerNormToU8(x.data(), gamma.data(), beta.data(), got.data(), rows, cols, 1e-5f, max_code);
          EXPECT_EQ(std::bit_cast<uint32_t>(have.scale), std::bit_cast<uint32_t>(want.scale))
              << "cols=" << cols << " rows=" << rows;
          EXPECT_EQ(have.zero_point, want.zero_point) << "cols=" << cols << " rows=" << rows;
          EXPECT_EQ(got, expected) << "cols=" << cols << " rows=" << rows << " max_code=" << max_code;
        }
      }
    }
  }
}

TEST(LayerNormTest, InPlace) {
  auto x = Random(3 * 64, 5);
  const auto gamma = Random(64, 6), beta = Random(64, 7);
  std::vector<float> expected(x.size());
  reference::LayerNorm(x.data(), gamma.data(), beta.data(), expected.data(), 3, 64, 1e-5f);
  LayerNorm(x.data(), gamma.data(), beta.data(), x.data(), 3, 64, 1e-5f);
  EXPECT_LT(NormalizedMaxError(x, expected), 1e-5);
}

TEST(AttentionTest, FastMatchesReference) {
  for (bool causal : {false, true}) {
    for (AttentionShape s : {AttentionShape{1, 1, 1, 8}, AttentionShape{2, 50, 2, 32}, AttentionShape{3, 77, 8, 64},
                             AttentionShape{2, 13, 3, 17}}) {
      const auto qkv = Random(s.batch * s.seq * 3 * s.heads * s.head_dim, 42, 2.0f);
      std::vector<float> fast(s.batch * s.seq * s.heads * s.head_dim), ref(fast.size());
      Attention(qkv.data(), fast.data(), s, causal);
      reference::Attention(qkv.data(), ref.data(), s, causal);
      EXPECT_LT(NormalizedMaxError(fast, ref), 1e-5) << "causal=" << causal << " seq=" << s.seq;
    }
  }
}

// Every path against the double-precision loops, on the head sizes of the model families
// (64 for CLIP, LLaVA's ViT-L and Whisper, 80 and 128 elsewhere) and on sequences that end
// mid-tile, mid-vector and past one block of P·V (577 = ViT-L/14 at 336 px).
TEST(AttentionTest, EveryPathMatchesReference) {
  const std::vector<AttentionShape> shapes = {{1, 1, 1, 16},  {2, 5, 2, 16},   {2, 50, 3, 64}, {1, 77, 2, 64},
                                              {2, 130, 2, 80}, {1, 300, 1, 128}, {1, 577, 2, 64}};
  for (bool causal : {false, true}) {
    for (const AttentionShape& s : shapes) {
      const auto qkv = Random(s.batch * s.seq * 3 * s.heads * s.head_dim, 7, 3.0f);
      std::vector<float> ref(s.batch * s.seq * s.heads * s.head_dim), got(ref.size());
      reference::Attention(qkv.data(), ref.data(), s, causal);
      portable::Attention(qkv.data(), got.data(), s, causal);
      EXPECT_LT(NormalizedMaxError(got, ref), 1e-5) << "portable causal=" << causal << " seq=" << s.seq;
      if (!causal) {
        std::fill(got.begin(), got.end(), 0.0f);
        detail::AttentionBlocked(qkv.data(), got.data(), s);
        EXPECT_LT(NormalizedMaxError(got, ref), 1e-5) << "blocked seq=" << s.seq << " head_dim=" << s.head_dim;
      }
      if (mms::CpuHasAvx512() && detail::AttentionAvx512Supports(s)) {
        std::fill(got.begin(), got.end(), 0.0f);
        detail::AttentionAvx512(qkv.data(), got.data(), s, causal);
        EXPECT_LT(NormalizedMaxError(got, ref), 1e-5)
            << "avx512 causal=" << causal << " seq=" << s.seq << " head_dim=" << s.head_dim;
      }
    }
  }
}

// The bf16 products: against the double-precision loops run on q, k and v rounded to bf16
// as the kernel rounds them, what is left is the probabilities' rounding to bf16 (a
// relative 2^-9 each, so at most 2^-9 of the largest |v|) and float32 sums: measured
// 8e-4 to 1e-3 here, where any slip in the pair layouts (odd key counts, padding, causal
// tiles) would be of the order of 1. Against the unrounded inputs (values up to 3, so
// peaked softmaxes), the error bf16 adds to a model's attention: measured up to 2.4e-2.
TEST(AttentionTest, Bf16ProductsMatchReferenceOnRoundedInputs) {
  if (!detail::CpuHasAvx512Bf16()) GTEST_SKIP() << "no AVX512_BF16 on this CPU";
  const std::vector<AttentionShape> shapes = {{1, 1, 1, 16},  {2, 5, 2, 16},   {2, 50, 3, 64},   {1, 77, 2, 64},
                                              {1, 33, 1, 32}, {2, 130, 2, 80}, {1, 300, 1, 128}, {1, 577, 2, 64}};
  for (bool causal : {false, true}) {
    for (const AttentionShape& s : shapes) {
      const auto qkv = Random(s.batch * s.seq * 3 * s.heads * s.head_dim, 7, 3.0f);
      std::vector<uint16_t> bits(qkv.size());
      reference::ConvertToBf16(qkv.data(), bits.data(), static_cast<int64_t>(bits.size()));
      std::vector<float> rounded(qkv.size());
      for (size_t i = 0; i < bits.size(); ++i) rounded[i] = std::bit_cast<float>(static_cast<uint32_t>(bits[i]) << 16);
      std::vector<float> ref(s.batch * s.seq * s.heads * s.head_dim), exact(ref.size()), got(ref.size());
      reference::Attention(rounded.data(), ref.data(), s, causal);
      reference::Attention(qkv.data(), exact.data(), s, causal);
      Attention(qkv.data(), got.data(), s, causal, AttentionProducts::kBf16);
      EXPECT_LT(NormalizedMaxError(got, ref), 3e-3) << "causal=" << causal << " seq=" << s.seq << " hd=" << s.head_dim;
      EXPECT_LT(NormalizedMaxError(got, exact), 3e-2)
          << "causal=" << causal << " seq=" << s.seq << " hd=" << s.head_dim;
    }
  }
}

TEST(AttentionTest, Bf16ProductsFallBackToFloat32WithoutTheKernel) {
  // head_dim 17 has no AVX-512 kernel in either form: the float32 paths run, exactly.
  const AttentionShape s{2, 13, 3, 17};
  const auto qkv = Random(s.batch * s.seq * 3 * s.heads * s.head_dim, 11, 2.0f);
  std::vector<float> f32(s.batch * s.seq * s.heads * s.head_dim), bf16(f32.size());
  Attention(qkv.data(), f32.data(), s, true);
  Attention(qkv.data(), bf16.data(), s, true, AttentionProducts::kBf16);
  EXPECT_EQ(f32, bf16);
}

TEST(AttentionTest, CausalFirstTokenSeesOnlyItself) {
  const AttentionShape s{1, 4, 1, 2};
  const auto qkv = Random(4 * 3 * 2, 9);
  std::vector<float> out(4 * 2);
  Attention(qkv.data(), out.data(), s, true);
  // Row 0 attends only to key 0, so its output is value 0 exactly.
  EXPECT_FLOAT_EQ(out[0], qkv[4]);
  EXPECT_FLOAT_EQ(out[1], qkv[5]);
}

TEST(ActivationTest, KnownValues) {
  EXPECT_NEAR(ActivationValue(Activation::kGelu, 1.0f), 0.8413447f, 1e-6);
  EXPECT_NEAR(ActivationValue(Activation::kQuickGelu, 1.0f), 1.0f / (1.0f + std::exp(-1.702f)), 1e-6);
  EXPECT_NEAR(ActivationValue(Activation::kGeluTanh, 1.0f), 0.8411920f, 1e-6);
  EXPECT_EQ(ActivationValue(Activation::kRelu, -2.0f), 0.0f);
  EXPECT_THROW(ParseActivation("swiglu_unknown"), std::exception);
}

}  // namespace
}  // namespace mms::ops
