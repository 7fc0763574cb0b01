// The bf16 and int8 kernels against their plain references: conversions bit for bit,
// packed matrix products within float32 rounding of the reference that models the same
// arithmetic (bf16 inputs, int8 integer sums), and within the precision's own error of
// the float32 product.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <thread>
#include <vector>

#include "base/error.h"
#include "engine/dtype.h"
#include "engine/onednn_context.h"
#include "engine/ops/bf16_convert.h"
#include "engine/ops/bf16_matmul.h"
#include "engine/ops/int8_gemv_vnni.h"
#include "engine/ops/int8_matmul.h"
#include "engine/ops/matmul.h"
#include "engine/ops/onednn_matmul_common.h"
#include "engine/ops/packed_matmul.h"
#include "engine/ops/quantize.h"
#include "test_support.h"

namespace mms::ops {
namespace {

using testing::NormalizedMaxError;
using testing::Random;

std::vector<uint16_t> ToBf16(const std::vector<float>& x) {
  std::vector<uint16_t> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = FloatToBFloat16(x[i]);
  return y;
}

// [k, n] row-major -> [n, k] row-major (the layout PyTorch and the packers use).
std::vector<float> Transpose(const std::vector<float>& b, int64_t k, int64_t n) {
  std::vector<float> t(b.size());
  for (int64_t p = 0; p < k; ++p) {
    for (int64_t j = 0; j < n; ++j) t[j * k + p] = b[p * n + j];
  }
  return t;
}

// Sizes around the 16-lane vector width and the 32768-element per-thread chunk.
const int64_t kSizes[] = {0, 1, 15, 16, 17, 31, 32, 33, 1000, 32767, 32768, 32769, 100001};

TEST(Bf16ConvertTest, FastMatchesReferenceBitForBit) {
  for (int64_t n : kSizes) {
    for (int offset : {0, 1}) {  // misaligned source and destination
      std::vector<float> x = Random(n + offset, 7 + n, 10.0f);
      // Specials: exact ties (round to even both ways), denormals, infinities, NaN, extremes.
      const float specials[] = {1.0f + 1.0f / 256, 1.0f + 3.0f / 256, -1.0f - 1.0f / 256, 1e-40f, -3e-39f,
                                std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                                std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::max(), 0.0f, -0.0f};
      for (size_t i = 0; i < std::size(specials) && offset + i < x.size(); ++i) x[offset + i * 3 % (x.size() - offset)] = specials[i];
      std::vector<uint16_t> fast(n + offset), ref(n + offset);
      ConvertToBf16(x.data() + offset, fast.data() + offset, n);
      reference::ConvertToBf16(x.data() + offset, ref.data() + offset, n);
      ASSERT_EQ(fast, ref) << "n=" << n << " offset=" << offset;
    }
  }
}

TEST(QuantizeTest, FastMatchesReferenceBitForBit) {
  for (int64_t n : kSizes) {
    for (int offset : {0, 3}) {
      for (float shift : {0.0f, 2.0f, -5.0f}) {  // symmetric, mostly positive, all negative
        std::vector<float> x = Random(n + offset, 11 + n, 3.0f);
        for (auto& v : x) v += shift;
        for (int32_t max_code : {255, 127}) {
          std::vector<uint8_t> fast(n + offset), ref(n + offset);
          const U8Params f = QuantizeU8(x.data() + offset, n, fast.data() + offset, max_code);
          const U8Params r = reference::QuantizeU8(x.data() + offset, n, ref.data() + offset, max_code);
          ASSERT_EQ(f.scale, r.scale) << "n=" << n;
          ASSERT_EQ(f.zero_point, r.zero_point) << "n=" << n;
          ASSERT_EQ(fast, ref) << "n=" << n << " offset=" << offset << " shift=" << shift << " max_code=" << max_code;
          for (uint8_t v : fast) ASSERT_LE(v, max_code);
        }
      }
    }
  }
}

TEST(QuantizeTest, AsymmetricRangeKeepsZeroExact) {
  // Range [-1, 254]: scale 1, zero point 1, so the rounding of each value is visible.
  const std::vector<float> x = {-1.0f, 254.0f, 0.0f, 2.5f, 3.5f, -0.5f, 0.49f};
  std::vector<uint8_t> q(x.size());
  const U8Params p = QuantizeU8(x.data(), x.size(), q.data());
  EXPECT_EQ(p.scale, 1.0f);
  EXPECT_EQ(p.zero_point, 1);
  EXPECT_EQ(q, (std::vector<uint8_t>{0, 255, 1, 3, 5, 1, 1}));  // 2.5 -> 2, 3.5 -> 4, -0.5 -> -0, all + 1
  // All positive: the range still starts at 0, which is code 0.
  const std::vector<float> pos = {2.0f, 5.1f};
  EXPECT_EQ(QuantizeU8(pos.data(), pos.size(), q.data()).zero_point, 0);
  // 7-bit codes: the range [-1, 126] spans 0..127 with the same step.
  const std::vector<float> x7 = {-1.0f, 126.0f, 2.5f};
  const U8Params p7 = QuantizeU8(x7.data(), x7.size(), q.data(), 127);
  EXPECT_EQ(p7.scale, 1.0f);
  EXPECT_EQ(p7.zero_point, 1);
  EXPECT_EQ(q[1], 127);
  EXPECT_EQ(q[2], 3);
  // All zero: no division by zero.
  const std::vector<float> zeros(5, 0.0f);
  const U8Params z = QuantizeU8(zeros.data(), zeros.size(), q.data());
  EXPECT_EQ(z.scale, 1.0f);
  EXPECT_EQ(z.zero_point, 0);
  EXPECT_EQ(q[0], 0);
}

TEST(QuantizeTest, RowsGetTheirOwnScale) {
  const std::vector<float> w = {1.0f, -2.0f, 0.5f,  // max 2
                                0.0f, 0.0f, 0.0f,   // all zero
                                254.0f, 127.0f, -1.0f};
  std::vector<int8_t> q(9);
  std::vector<float> scales(3);
  QuantizeRowsS8(w.data(), 3, 3, q.data(), scales.data());
  EXPECT_FLOAT_EQ(scales[0], 2.0f / 127);
  EXPECT_EQ(scales[1], 1.0f);
  EXPECT_FLOAT_EQ(scales[2], 2.0f);
  EXPECT_EQ(q, (std::vector<int8_t>{64, -127, 32, 0, 0, 0, 127, 64, 0}));  // 63.5 -> 64, 31.75 -> 32, 63.5 -> 64, -0.5 -> 0
}

struct MatMulCase {
  int64_t m, n, k;
  Activation act;
  bool accumulate;
  bool bias;
};

const MatMulCase kCases[] = {
    {1, 1, 1, Activation::kNone, false, false},       {15, 17, 31, Activation::kNone, false, true},
    {16, 16, 32, Activation::kGelu, false, true},     {17, 15, 33, Activation::kQuickGelu, false, true},
    {50, 192, 64, Activation::kNone, true, true},     {7, 64, 256, Activation::kGeluTanh, true, false},
    {77, 33, 65, Activation::kRelu, false, true},     {3, 1000, 7, Activation::kQuickGelu, true, true},
    {400, 96, 768, Activation::kQuickGelu, false, true}, {1, 768, 512, Activation::kNone, true, true},
    {1000, 64, 64, Activation::kNone, false, false},
    // Decode-sized calls (the int8 VNNI path of a few rows), N and K off the 64 / 16 blocks.
    {2, 200, 100, Activation::kNone, true, true},       {4, 129, 48, Activation::kGelu, true, false},
    {5, 70, 40, Activation::kNone, false, true},
};

class PackedMatMulTest : public ::testing::TestWithParam<MatMulCase> {};

TEST_P(PackedMatMulTest, Bf16MatchesReference) {
  if (!MatMulAccelerated(Precision::kBf16)) GTEST_SKIP() << "no bf16 kernel on this CPU (models fall back to fp32)";
  const auto c = GetParam();
  const auto a = Random(c.m * c.k, 1), b = Random(c.k * c.n, 2, 0.1f), bias = Random(c.n, 3);
  const auto w = ToBf16(Transpose(b, c.k, c.n));
  const auto packed = PackBf16(w.data(), c.n, c.k);
  const float* bias_ptr = c.bias ? bias.data() : nullptr;
  std::vector<float> fast = Random(c.m * c.n, 4), ref = fast, f32 = fast;
  packed->Run(a.data(), bias_ptr, fast.data(), c.m, {c.act, c.accumulate});
  reference::MatMulBf16(a.data(), w.data(), bias_ptr, ref.data(), c.m, c.n, c.k, {c.act, c.accumulate});
  reference::MatMul(a.data(), b.data(), bias_ptr, f32.data(), c.m, c.n, c.k, {c.act, c.accumulate});
  // Same bf16 inputs: only float32 summation order differs.
  EXPECT_LT(NormalizedMaxError(fast, ref), 2e-5);
  // Against float32 inputs: bf16's 8-bit mantissa (relative step 2^-8) on both operands.
  EXPECT_LT(NormalizedMaxError(fast, f32), 2e-2);
}

// bf16 in (no conversion per call) and bf16 out: the same products as Run, the output
// rounded to nearest even after the epilogue.
TEST_P(PackedMatMulTest, Bf16InputsAndOutputs) {
  if (!MatMulAccelerated(Precision::kBf16)) GTEST_SKIP() << "no bf16 kernel on this CPU (models fall back to fp32)";
  const auto c = GetParam();
  if (c.accumulate) GTEST_SKIP() << "a bf16 output takes no residual accumulate";
  const auto a = Random(c.m * c.k, 1), b = Random(c.k * c.n, 2, 0.1f), bias = Random(c.n, 3);
  const auto w = ToBf16(Transpose(b, c.k, c.n));
  const auto packed = PackBf16(w.data(), c.n, c.k);
  const float* bias_ptr = c.bias ? bias.data() : nullptr;
  std::vector<float> from_float(c.m * c.n), from_bf16(c.m * c.n);
  packed->Run(a.data(), bias_ptr, from_float.data(), c.m, {c.act, false});
  const auto a16 = ToBf16(a);
  packed->RunBf16(a16.data(), bias_ptr, from_bf16.data(), false, c.m, {c.act, false});
  EXPECT_EQ(from_bf16, from_float);
  std::vector<uint16_t> out16(c.m * c.n);
  packed->RunBf16(a16.data(), bias_ptr, out16.data(), true, c.m, {c.act, false});
  int off_by_more_than_one_step = 0;
  for (size_t i = 0; i < out16.size(); ++i) {
    const int diff = std::abs(static_cast<int>(out16[i]) - static_cast<int>(FloatToBFloat16(from_float[i])));
    off_by_more_than_one_step += diff > 1;  // oneDNN may flush a denormal or round a tie the other way
  }
  EXPECT_EQ(off_by_more_than_one_step, 0);
}

TEST(PackedMatMulTest, RunBf16RefusesOtherPrecisions) {
  const std::vector<int8_t> q(16 * 16, 1);
  const std::vector<float> scales(16, 1.0f);
  const auto int8 = PackInt8(q.data(), scales.data(), 16, 16);
  const std::vector<uint16_t> a(16 * 16, 0x3f80);
  std::vector<float> c(16 * 16);
  EXPECT_THROW(int8->RunBf16(a.data(), nullptr, c.data(), false, 16), Error);
}

TEST_P(PackedMatMulTest, Int8MatchesReference) {
  const auto c = GetParam();
  const auto a = Random(c.m * c.k, 1), b = Random(c.k * c.n, 2, 0.1f), bias = Random(c.n, 3);
  const auto w = Transpose(b, c.k, c.n);
  std::vector<int8_t> q(w.size());
  std::vector<float> scales(c.n);
  QuantizeRowsS8(w.data(), c.n, c.k, q.data(), scales.data());
  const auto packed = PackInt8(q.data(), scales.data(), c.n, c.k);
  const float* bias_ptr = c.bias ? bias.data() : nullptr;
  std::vector<float> fast = Random(c.m * c.n, 4), ref = fast, f32 = fast;
  packed->Run(a.data(), bias_ptr, fast.data(), c.m, {c.act, c.accumulate});
  reference::MatMulInt8(a.data(), q.data(), scales.data(), bias_ptr, ref.data(), c.m, c.n, c.k, {c.act, c.accumulate},
                        Int8ActivationMaxCode());
  reference::MatMul(a.data(), b.data(), bias_ptr, f32.data(), c.m, c.n, c.k, {c.act, c.accumulate});
  // Integer sums are exact; the dequantizing float32 arithmetic and oneDNN's activation
  // approximations are what remains.
  EXPECT_LT(NormalizedMaxError(fast, ref), 1e-5);
  // Against float32: 255 (or 127) steps for the activations' whole range, 127 per weight row.
  EXPECT_LT(NormalizedMaxError(fast, f32), 5e-2);
}

INSTANTIATE_TEST_SUITE_P(Shapes, PackedMatMulTest, ::testing::ValuesIn(kCases));

// Quantized inputs give what the float32 call gives (it quantizes the same way), on the
// decode kernel's row counts and on oneDNN's; other precisions refuse them.
TEST(PackedMatMulTest, RunU8MatchesRunOnTheSameCodes) {
  const int64_t n = 96, k = 80;
  const auto b = Random(k * n, 8, 0.1f), bias = Random(n, 9);
  const auto w = Transpose(b, k, n);
  std::vector<int8_t> q(w.size());
  std::vector<float> scales(n);
  QuantizeRowsS8(w.data(), n, k, q.data(), scales.data());
  const auto packed = PackInt8(q.data(), scales.data(), n, k);
  for (int64_t m : {1, 3, 4, 5, 64}) {
    const auto a = Random(m * k, 10 + m);
    std::vector<uint8_t> qa(a.size());
    const U8Params params = QuantizeU8(a.data(), m * k, qa.data(), Int8ActivationMaxCode());
    for (Epilogue e : {Epilogue{}, Epilogue{Activation::kQuickGelu, false}, Epilogue{Activation::kNone, true}}) {
      std::vector<float> from_float = Random(m * n, 11), from_codes = from_float;
      packed->Run(a.data(), bias.data(), from_float.data(), m, e);
      packed->RunU8(qa.data(), params, bias.data(), from_codes.data(), m, e);
      EXPECT_EQ(from_codes, from_float) << "m=" << m;
    }
  }
  if (!MatMulAccelerated(Precision::kBf16)) return;  // no bf16 product to ask
  std::vector<uint16_t> w16(w.size());
  ConvertToBf16(w.data(), w16.data(), w.size());
  const std::vector<uint8_t> codes(4 * k, 1);
  std::vector<float> c(4 * n);
  EXPECT_THROW(PackBf16(w16.data(), n, k)->RunU8(codes.data(), {}, nullptr, c.data(), 4), Error);
}

// Decode-sized int8 calls run mmserve's VNNI kernel on the weights oneDNN packed, where the
// CPU has VNNI; larger ones stay on oneDNN's.
TEST(PackedMatMulTest, Int8DecodeCallsUseTheVnniKernel) {
  if (!detail::CpuHasAvx512Vnni()) GTEST_SKIP() << "no AVX512-VNNI on this CPU";
  const int64_t n = 2048, k = 512;
  const std::vector<int8_t> q(n * k, 3);
  const std::vector<float> scales(n, 0.01f);
  const auto packed = PackInt8(q.data(), scales.data(), n, k);
  EXPECT_EQ(packed->KernelName(1), "mmserve:int8_gemv_avx512_vnni");
  EXPECT_EQ(packed->KernelName(4), "mmserve:int8_gemv_avx512_vnni");
  EXPECT_NE(packed->KernelName(5), "mmserve:int8_gemv_avx512_vnni");
}

// One packing serves every row count, and on a CPU that accelerates the precision every
// row count runs a JIT kernel, not oneDNN's reference loops.
TEST(PackedMatMulTest, OnePackingServesEveryRowCount) {
  const int64_t n = 96, k = 64;
  const auto b = Random(k * n, 5, 0.1f), bias = Random(n, 6);
  const auto w = Transpose(b, k, n);
  const auto w16 = ToBf16(w);
  std::vector<int8_t> q(w.size());
  std::vector<float> scales(n);
  QuantizeRowsS8(w.data(), n, k, q.data(), scales.data());
  const bool with_bf16 = MatMulAccelerated(Precision::kBf16);
  const auto bf16 = with_bf16 ? PackBf16(w16.data(), n, k) : nullptr;
  const auto int8 = PackInt8(q.data(), scales.data(), n, k);
  for (int64_t m : {1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 33, 49, 50, 51, 64, 77, 400, 401, 3080}) {
    const auto a = Random(m * k, 100 + m);
    std::vector<float> fast(m * n), ref(m * n);
    if (with_bf16) {
      bf16->Run(a.data(), bias.data(), fast.data(), m, {Activation::kQuickGelu, false});
      reference::MatMulBf16(a.data(), w16.data(), bias.data(), ref.data(), m, n, k, {Activation::kQuickGelu, false});
      EXPECT_LT(NormalizedMaxError(fast, ref), 2e-5) << "bf16 m=" << m;
    }
    int8->Run(a.data(), bias.data(), fast.data(), m, {Activation::kNone, false});
    reference::MatMulInt8(a.data(), q.data(), scales.data(), bias.data(), ref.data(), m, n, k, {},
                          Int8ActivationMaxCode());
    EXPECT_LT(NormalizedMaxError(fast, ref), 1e-5) << "int8 m=" << m;
    for (Epilogue e : {Epilogue{}, Epilogue{Activation::kQuickGelu, false}, Epilogue{Activation::kNone, true}}) {
      if (with_bf16) {
        EXPECT_NE(bf16->KernelName(m, e).rfind("ref", 0), 0u) << bf16->KernelName(m, e) << " m=" << m << " act=" << static_cast<int>(e.activation) << " acc=" << e.accumulate;
      }
      if (MatMulAccelerated(Precision::kInt8)) {
        EXPECT_NE(int8->KernelName(m, e).rfind("ref", 0), 0u) << int8->KernelName(m, e) << " m=" << m << " act=" << static_cast<int>(e.activation) << " acc=" << e.accumulate;
      }
    }
  }
}

TEST(PackedMatMulTest, ZeroActivationsAndZeroWeightRows) {
  const int64_t m = 4, n = 32, k = 16;
  const std::vector<int8_t> q(n * k, 0);
  const std::vector<float> scales(n, 1.0f), bias = Random(n, 8), a(m * k, 0.0f);
  const auto int8 = PackInt8(q.data(), scales.data(), n, k);
  std::vector<float> c(m * n, 5.0f);
  int8->Run(a.data(), bias.data(), c.data(), m, {Activation::kNone, true});
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) EXPECT_FLOAT_EQ(c[i * n + j], 5.0f + bias[j]);
  }
}

// Model instances run forward passes on several threads at once over shared weights;
// each thread converts its activations into its own scratch.
TEST(PackedMatMulTest, ConcurrentCallsAgree) {
  const int64_t n = 128, k = 256, m = 64;
  const auto w = Transpose(Random(k * n, 9, 0.1f), k, n);
  const auto w16 = ToBf16(w);
  std::vector<int8_t> q(w.size());
  std::vector<float> scales(n);
  QuantizeRowsS8(w.data(), n, k, q.data(), scales.data());
  const bool with_bf16 = MatMulAccelerated(Precision::kBf16);
  const auto bf16 = with_bf16 ? PackBf16(w16.data(), n, k) : nullptr;
  const auto int8 = PackInt8(q.data(), scales.data(), n, k);
  constexpr int kThreads = 4;
  std::vector<std::vector<float>> inputs, expected_bf16, expected_int8;
  for (int t = 0; t < kThreads; ++t) {
    inputs.push_back(Random(m * k, 200 + t, 1.0f + t));
    expected_bf16.emplace_back(m * n);
    expected_int8.emplace_back(m * n);
    if (with_bf16) bf16->Run(inputs[t].data(), nullptr, expected_bf16[t].data(), m);
    int8->Run(inputs[t].data(), nullptr, expected_int8[t].data(), m);
  }
  std::vector<std::thread> threads;
  std::vector<int> mismatches(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<float> out(m * n);
      for (int rep = 0; rep < 20; ++rep) {
        if (with_bf16) {
          bf16->Run(inputs[t].data(), nullptr, out.data(), m);
          if (out != expected_bf16[t]) ++mismatches[t];
        }
        int8->Run(inputs[t].data(), nullptr, out.data(), m);
        if (out != expected_int8[t]) ++mismatches[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(mismatches[t], 0) << "thread " << t;
}

// A call whose kernel refuses the layout packed at load gets the weights repacked into
// the layout it asks for, once, with the extras (here the zero point's column sums).
TEST(PackedWeightsTest, RepacksOnceForAKernelThatRefusesTheLoadLayout) {
  using tag = dnnl::memory::format_tag;
  using dt = dnnl::memory::data_type;
  const dnnl::engine& engine = CpuEngine();
  const int64_t m = 5, k = 64, n = 48;
  std::vector<int8_t> q(n * k);  // [n, k]
  std::mt19937 rng(3);
  for (auto& v : q) v = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
  std::vector<uint8_t> a(m * k);  // codes the kernel sums exactly on this CPU
  for (auto& v : a) v = static_cast<uint8_t>(rng() % (Int8ActivationMaxCode() + 1));
  int32_t zero_point = 37;
  auto describe_any = [&](const dnnl::memory::desc& weights) {
    dnnl::primitive_attr attr;
    attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
    const dnnl::memory::desc a_md({m, k}, dt::u8, tag::ab), c_md({m, n}, dt::s32, tag::ab);
    return dnnl::matmul::primitive_desc(dnnl::matmul::desc(a_md, weights, c_md), attr, engine);
  };
  // Packed plain ("ab") at load; the kernel below refuses that and anything but `any`.
  detail::PackedWeights weights;
  weights.Pack(dnnl::memory({{k, n}, dt::s8, tag::ba}, engine, q.data()), dnnl::memory::desc({k, n}, dt::s8, tag::ab));
  auto refusing = [&](const dnnl::memory::desc& w) {
    if (w == dnnl::memory::desc({k, n}, dt::s8, tag::ab)) throw dnnl::error(dnnl_unimplemented, "refused for the test");
    return describe_any(w);
  };
  const auto first = weights.Select(refusing, "int8", m);
  const auto second = weights.Select(refusing, "int8", m);
  EXPECT_EQ(first.weights.get_data_handle(), second.weights.get_data_handle()) << "repacked once, then reused";
  std::vector<int32_t> c(m * n);
  detail::Execute(dnnl::matmul(first.pd), {{DNNL_ARG_SRC, dnnl::memory(first.pd.src_desc(), engine, a.data())},
                                           {DNNL_ARG_WEIGHTS, first.weights},
                                           {DNNL_ARG_DST, dnnl::memory(first.pd.dst_desc(), engine, c.data())},
                                           {DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC,
                                            dnnl::memory({{1}, dt::s32, tag::a}, engine, &zero_point)}});
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      int64_t want = 0;
      for (int64_t p = 0; p < k; ++p) want += (a[i * k + p] - zero_point) * q[j * k + p];
      ASSERT_EQ(c[i * n + j], want) << i << "," << j;
    }
  }
}

TEST(PackedMatMulTest, Fp32IsAlwaysAccelerated) { EXPECT_TRUE(MatMulAccelerated(Precision::kFp32)); }

// 8-bit activations where the kernel sums in int32 (VNNI, AMX); 7-bit where it would
// saturate int16 pairs. Either way the products of the probe come out exact.
TEST(PackedMatMulTest, ActivationCodesFitTheKernel) {
  const int32_t max_code = Int8ActivationMaxCode();
  EXPECT_TRUE(max_code == 255 || max_code == 127) << max_code;
  const int64_t m = 8, k = 256, n = 32;
  const std::vector<int8_t> q(n * k, 127);
  const std::vector<float> scales(n, 1.0f), a(m * k, 1.0f);
  std::vector<float> c(m * n);
  PackInt8(q.data(), scales.data(), n, k)->Run(a.data(), nullptr, c.data(), m);
  for (float v : c) ASSERT_NEAR(v, 127.0f * k, 1e-3f * 127 * k);
}

}  // namespace
}  // namespace mms::ops
