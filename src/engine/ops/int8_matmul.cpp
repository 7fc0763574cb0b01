#include "engine/ops/int8_matmul.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "base/error.h"
#include "engine/onednn_context.h"
#include "engine/op_profile.h"
#include "engine/ops/int8_gemv_vnni.h"
#include "engine/ops/onednn_matmul_common.h"
#include "engine/ops/quantize.h"

namespace mms::ops {

namespace {

using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

constexpr int64_t kPackRows = 256;  // the row count the weights are laid out for (see bf16_matmul.cpp)

// How the per-call scales reach oneDNN. The activation scale changes every call, so it
// cannot be a scale baked into the primitive (each value would be a new JIT compile).
enum class Variant {
  // float output with the bias as the product's bias input, folded in as bias / scale
  // (oneDNN adds it to the int32 sums before the post-ops), then post-ops: ×
  // (activation scale · weight scale)[N], activation, + c. 10-15% faster than adding the
  // bias as a second binary post-op on AVX512-VNNI with the weights in cache
  // (bench/int8_matmul_variants.cpp, "u8 zp bias mul" against "u8s8 runtime zero point":
  // qkv 0.87 vs 1.00 ms, fc1 1.17 vs 1.36 ms at M = 400, 2 threads, AMD EPYC). Inside the
  // ViT-B/32 tower, where each layer's weights come from memory, the two measured the
  // same, as did leaving out every post-op: there the epilogue hides under the product.
  kBiasInputBinaryScale,
  // float output, then post-ops: × (activation scale · weight scale)[N], + bias[N],
  // activation, + c. Runs on oneDNN's brgemm kernels (AMX, AVX512-VNNI), which take no
  // runtime output scales in 2.6 (those send the call to the slower gemm kernel).
  kBinaryPostOps,
  // Runtime output scales [N] with the bias folded in as bias / scale (oneDNN 2.6 adds the
  // bias before scaling), then activation or + c. For CPUs without brgemm int8 (AVX2),
  // whose gemm-based kernel takes runtime scales, but binary post-ops followed by a sum
  // only in its reference form.
  kRuntimeScales,
};

enum Scratch { kQuantizedA, kScales, kScaledBias, kPaddedA };

// Calls of at most this many rows run on detail::Int8GemvVnni where it can read the
// packed weights (decode steps); more rows reuse each weight enough for oneDNN's kernel.
constexpr int64_t kGemvMaxRows = detail::kVnniMaxRows;

// Whether oneDNN packed the [k, n] weights as BA16a64b4a, the layout Int8GemvVnni reads
// (the compensation oneDNN appends after the values is not read).
bool PackedAsVnniBlocks(const dnnl::memory::desc& packed, int64_t k, int64_t n) {
  const dnnl::memory::desc want({k, n}, dt::s8, tag::BA16a64b4a);
  const dnnl_memory_desc_t& a = packed.data;
  const dnnl_memory_desc_t& b = want.data;
  if (a.format_kind != dnnl_blocked || a.ndims != 2 || a.data_type != dnnl_s8) return false;
  const auto& x = a.format_desc.blocking;
  const auto& y = b.format_desc.blocking;
  if (x.inner_nblks != y.inner_nblks) return false;
  for (int i = 0; i < 2; ++i) {
    if (a.padded_dims[i] != b.padded_dims[i] || x.strides[i] != y.strides[i]) return false;
  }
  for (int i = 0; i < x.inner_nblks; ++i) {
    if (x.inner_blks[i] != y.inner_blks[i] || x.inner_idxs[i] != y.inner_idxs[i]) return false;
  }
  return a.offset0 == 0;
}

class Int8MatMul final : public PackedMatMul {
 public:
  Int8MatMul(const int8_t* q, const float* scales, int64_t n, int64_t k, int32_t max_code)
      : PackedMatMul(k, n), scales_(scales, scales + n), max_code_(max_code) {
    const dnnl::memory::desc any({k, n}, dt::s8, tag::any);
    // The first variant with JIT kernels on this CPU for the epilogues the layers use; if
    // neither has them, the first that oneDNN takes at all (reference loops: slow, correct).
    dnnl::matmul::primitive_desc pd, fallback;
    Variant fallback_variant = Variant::kBiasInputBinaryScale;
    bool found = false, have_fallback = false;
    for (Variant v : {Variant::kBiasInputBinaryScale, Variant::kBinaryPostOps, Variant::kRuntimeScales}) {
      variant_ = v;
      try {
        auto candidate = Describe(kPackRows, any, true, {});
        bool fast = !detail::IsReferenceImpl(candidate);
        for (Epilogue e : {Epilogue{Activation::kQuickGelu, false}, Epilogue{Activation::kNone, true}}) {
          fast = fast && !detail::IsReferenceImpl(Describe(kPackRows, any, true, e));
        }
        if (fast) {
          pd = candidate;
          found = true;
          break;
        }
        if (!have_fallback) {
          fallback = candidate;
          fallback_variant = v;
          have_fallback = true;
        }
      } catch (const dnnl::error&) {
      }
    }
    if (!found) {
      if (!have_fallback) {
        ThrowInternal("int8 matmul [" + std::to_string(k) + "x" + std::to_string(n) + "]: oneDNN has no kernel for it");
      }
      pd = fallback;
      variant_ = fallback_variant;
    }
    // [n, k] row-major is the [k, n] matrix in "ba" order. Packing also computes the
    // column sums that the activations' zero point needs.
    weights_.Pack(dnnl::memory({{k, n}, dt::s8, tag::ba}, CpuEngine(), const_cast<int8_t*>(q)), pd.weights_desc());
    if (detail::CpuHasAvx512Vnni() && max_code_ == 255 && PackedAsVnniBlocks(pd.weights_desc(), k, n)) {
      gemv_weights_ = static_cast<const int8_t*>(weights_.primary().get_data_handle());
      k_padded_ = pd.weights_desc().data.padded_dims[0];
      n_padded_ = pd.weights_desc().data.padded_dims[1];
      column_sums_.resize(n);
      for (int64_t j = 0; j < n; ++j) {
        int32_t sum = 0;
        for (int64_t p = 0; p < k; ++p) sum += q[j * k + p];
        column_sums_[j] = sum;
      }
    }
  }

  Precision precision() const override { return Precision::kInt8; }

  void Run(const float* a, const float* bias, float* c, int64_t m, Epilogue epilogue) const override {
    auto* qa = static_cast<uint8_t*>(detail::ThreadScratch(kQuantizedA, m * k()));
    U8Params a_params;
    {
      profile::NestedTimer quantize("to_u8");
      a_params = QuantizeU8(a, m * k(), qa, max_code_);
    }
    RunU8(qa, a_params, bias, c, m, epilogue);
  }

  void RunU8(const uint8_t* qa, U8Params a_params, const float* bias, float* c, int64_t m,
             Epilogue epilogue) const override {
    if (gemv_weights_ != nullptr && m <= kGemvMaxRows) {
      RunGemv(qa, a_params, bias, c, m, epilogue);
      return;
    }
    const dnnl::engine& engine = CpuEngine();
    auto* scale = static_cast<float*>(detail::ThreadScratch(kScales, n() * sizeof(float)));
    for (int64_t j = 0; j < n(); ++j) scale[j] = a_params.scale * scales_[j];

    const auto [pd, weights] = Select(m, bias != nullptr, epilogue);
    const dnnl::memory::desc vector_md({1, n()}, dt::f32, tag::ab);
    std::unordered_map<int, dnnl::memory> args = {
        {DNNL_ARG_SRC, dnnl::memory(pd.src_desc(), engine, const_cast<uint8_t*>(qa))},
        {DNNL_ARG_WEIGHTS, weights},
        {DNNL_ARG_DST, dnnl::memory(pd.dst_desc(), engine, c)},
        {DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC, dnnl::memory({{1}, dt::s32, tag::a}, engine, &a_params.zero_point)}};
    if (variant_ == Variant::kBinaryPostOps) {
      args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, dnnl::memory(vector_md, engine, scale));
      if (bias) {
        args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(1) | DNNL_ARG_SRC_1,
                     dnnl::memory(vector_md, engine, const_cast<float*>(bias)));
      }
    } else {
      if (variant_ == Variant::kBiasInputBinaryScale) {
        args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, dnnl::memory(vector_md, engine, scale));
      } else {
        args.emplace(DNNL_ARG_ATTR_OUTPUT_SCALES, dnnl::memory({{n()}, dt::f32, tag::a}, engine, scale));
      }
      if (bias) {
        auto* scaled_bias = static_cast<float*>(detail::ThreadScratch(kScaledBias, n() * sizeof(float)));
        // scale is at least the weights' step times the activations' (range / 255), far
        // from the float underflow that would make this overflow.
        for (int64_t j = 0; j < n(); ++j) scaled_bias[j] = bias[j] / scale[j];
        args.emplace(DNNL_ARG_BIAS, dnnl::memory(vector_md, engine, scaled_bias));
      }
    }
    detail::Execute(dnnl::matmul(pd), args);  // oneDNN's primitive cache makes this a lookup
  }

  std::string KernelName(int64_t m, Epilogue epilogue) const override {
    if (gemv_weights_ != nullptr && m <= kGemvMaxRows) return "mmserve:int8_gemv_avx512_vnni";
    return Select(m, true, epilogue).pd.impl_info_str();
  }

 private:
  // The products of a few rows (see kGemvMaxRows): the same quantization of the
  // activations, exact int32 sums, then the zero point, scales, bias, activation and
  // accumulate in float32 as oneDNN's post-ops apply them.
  void RunGemv(const uint8_t* qa, U8Params a_params, const float* bias, float* c, int64_t m, Epilogue epilogue) const {
    const int64_t k = this->k(), n = this->n();
    auto* padded = static_cast<uint8_t*>(detail::ThreadScratch(kPaddedA, m * k_padded_));
    for (int64_t r = 0; r < m; ++r) {
      std::memcpy(padded + r * k_padded_, qa + r * k, k);
      std::memset(padded + r * k_padded_ + k, 0, k_padded_ - k);
    }
    const int32_t zero_point = a_params.zero_point;
    const float a_scale = a_params.scale;
    const int64_t strips = n_padded_ / detail::kVnniBlockN;
    // Each strip's epilogue on the thread that summed it, right after, while the sums are in L1.
#pragma omp parallel for schedule(static) if (strips > 1)
    for (int64_t s = 0; s < strips; ++s) {
      int32_t acc[detail::kVnniMaxRows * detail::kVnniBlockN];
      detail::Int8GemvStripVnni(padded, static_cast<int>(m), k_padded_, gemv_weights_ + s * k_padded_ * detail::kVnniBlockN,
                                acc);
      const int64_t j0 = s * detail::kVnniBlockN, j1 = std::min(n, j0 + detail::kVnniBlockN);
      for (int64_t r = 0; r < m; ++r) {
        const int32_t* sums = acc + r * detail::kVnniBlockN;
        float* out = c + r * n;
        for (int64_t j = j0; j < j1; ++j) {
          float v = static_cast<float>(sums[j - j0] - zero_point * column_sums_[j]) * (a_scale * scales_[j]);
          if (bias) v += bias[j];
          v = ActivationValue(epilogue.activation, v);
          out[j] = epilogue.accumulate ? out[j] + v : v;
        }
      }
    }
  }

  dnnl::matmul::primitive_desc Describe(int64_t m, const dnnl::memory::desc& weights, bool bias,
                                        Epilogue epilogue) const {
    const dnnl::memory::desc a_md({m, k()}, dt::u8, tag::ab), c_md({m, n()}, dt::f32, tag::ab);
    const dnnl::memory::desc vector_md({1, n()}, dt::f32, tag::ab);
    dnnl::post_ops post_ops;
    dnnl::primitive_attr attr;
    // The zero point changes per call: oneDNN subtracts zero_point · Σk w[k, n], with the
    // sums computed once when the weights are packed.
    attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
    if (variant_ == Variant::kRuntimeScales) {
      attr.set_output_scales(1 << 1, {DNNL_RUNTIME_F32_VAL});
    } else {
      post_ops.append_binary(dnnl::algorithm::binary_mul, vector_md);
      if (bias && variant_ == Variant::kBinaryPostOps) post_ops.append_binary(dnnl::algorithm::binary_add, vector_md);
    }
    detail::AppendEpilogue(post_ops, epilogue);
    attr.set_post_ops(post_ops);
    const bool bias_input = bias && variant_ != Variant::kBinaryPostOps;
    const auto desc = bias_input ? dnnl::matmul::desc(a_md, weights, vector_md, c_md)
                                 : dnnl::matmul::desc(a_md, weights, c_md);
    return dnnl::matmul::primitive_desc(desc, attr, CpuEngine());
  }

  detail::PackedWeights::Selected Select(int64_t m, bool bias, Epilogue epilogue) const {
    return weights_.Select([&](const dnnl::memory::desc& weights) { return Describe(m, weights, bias, epilogue); },
                           "int8", m);
  }

  std::vector<float> scales_;
  int32_t max_code_;
  Variant variant_ = Variant::kBinaryPostOps;
  detail::PackedWeights weights_;
  // The decode path (null where oneDNN packed another layout or the CPU lacks VNNI).
  const int8_t* gemv_weights_ = nullptr;
  int64_t k_padded_ = 0, n_padded_ = 0;
  std::vector<int32_t> column_sums_;  // Σk q[j, k]: the zero point's share of each sum
};

}  // namespace

std::unique_ptr<PackedMatMul> PackInt8(const int8_t* q, const float* scales, int64_t n, int64_t k) {
  return std::make_unique<Int8MatMul>(q, scales, n, k, Int8ActivationMaxCode());
}

int32_t Int8ActivationMaxCode() {
  static const int32_t max_code = [] {
    // Rows of 1.0 quantize to code 255 (range [0, 1]: scale 1/255, zero point 0); weights
    // of 127 with scale 1. Exact sums give 127 · k; saturated pairs give about half.
    constexpr int64_t m = 64, k = 64, n = 16;
    const std::vector<int8_t> q(n * k, 127);
    const std::vector<float> scales(n, 1.0f), a(m * k, 1.0f);
    std::vector<float> c(m * n);
    Int8MatMul(q.data(), scales.data(), n, k, 255).Run(a.data(), nullptr, c.data(), m, {});
    const float exact = 127.0f * k;
    return std::abs(c[0] - exact) <= 1e-3f * exact ? 255 : 127;
  }();
  return max_code;
}

namespace reference {

void MatMulInt8(const float* a, const int8_t* q, const float* scales, const float* bias, float* c, int64_t m, int64_t n,
                int64_t k, Epilogue epilogue, int32_t max_code) {
  std::vector<uint8_t> qa(m * k);
  const U8Params a_params = reference::QuantizeU8(a, m * k, qa.data(), max_code);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      int64_t acc = 0;
      for (int64_t p = 0; p < k; ++p) acc += (static_cast<int32_t>(qa[i * k + p]) - a_params.zero_point) * q[j * k + p];
      float v = static_cast<float>(acc) * (a_params.scale * scales[j]);
      if (bias) v += bias[j];
      v = ActivationValue(epilogue.activation, v);
      c[i * n + j] = epilogue.accumulate ? c[i * n + j] + v : v;
    }
  }
}

}  // namespace reference

}  // namespace mms::ops
