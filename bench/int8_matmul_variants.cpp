// Microbenchmark behind the int8 design choices in src/engine/ops/int8_matmul.h: oneDNN
// 2.6 matrix products on the ViT-B/32 encoder shapes (M = 50 tokens x 8 images, K/N of
// qkv, out_proj, fc1, fc2), one line per (variant, shape) with the kernel oneDNN chose:
//   f32, bf16                  the other precisions, for scale
//   s8s8 binary                s8 activations, per-N scale + bias as binary post-ops
//   u8s8 binary                the same with u8 activations
//   u8s8 runtime zero point    asymmetric u8: zero point given per call, bias as a post-op
//   u8s8 fixed zero point      zero point 128 baked into the primitive
//   s8s8 runtime scales        runtime output scales (no brgemm kernel takes them in 2.6)
//   s8s8 s32 + row dequant     per-token scales: int32 output, then our own dequantizing pass
//   u8 zp bias mul             runtime zero point, bias as the product's input, the scales as
//                              one binary post-op (what mmserve runs; see int8_matmul.cpp)
//   u8 zp bias mul swish       the same with fc1's quick-GELU (swish) after it
//   u8 zp no post, u8 zp s32   the products alone, float or int32 out: the floor
//   u8 zp mul, u8 zp swish     the post-ops' cost one at a time
//   u8 fixed scales            output scales baked in (the matmul ceiling tool's form)
//
//   cmake --build build --target int8-matmul-variants
//   OMP_NUM_THREADS=2 build/int8-matmul-variants [iterations=50]
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

struct Shape {
  const char* name;
  int64_t m, k, n;
};

enum class Kind {
  kF32,
  kBf16,
  kS8Binary,
  kU8Binary,
  kU8RuntimeZp,
  kU8FixedZp,
  kS8RuntimeScales,
  kS8RowDequant,
  kU8ZpNoPost,
  kU8ZpS32,
  kU8ZpSwish,
  kU8ZpMulOnly,
  kU8FixedScales,
  kU8ZpBiasMul,
  kU8ZpBiasMulSwish,
};

struct Variant {
  const char* name;
  Kind kind;
};

double Seconds(const std::function<void()>& f, int iterations, double* median) {
  f();
  f();  // first calls: JIT, first touch
  std::vector<double> t;
  for (int i = 0; i < iterations; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  *median = t[t.size() / 2];
  return t.front();
}

void Run(const Variant& v, const Shape& s, int iterations, const dnnl::engine& engine) {
  const bool s8 = v.kind == Kind::kS8Binary || v.kind == Kind::kS8RuntimeScales || v.kind == Kind::kS8RowDequant;
  const dt src_dt = v.kind == Kind::kF32 ? dt::f32 : v.kind == Kind::kBf16 ? dt::bf16 : s8 ? dt::s8 : dt::u8;
  const dt wei_dt = v.kind == Kind::kF32 ? dt::f32 : v.kind == Kind::kBf16 ? dt::bf16 : dt::s8;
  const dt dst_dt = v.kind == Kind::kS8RowDequant || v.kind == Kind::kU8ZpS32 ? dt::s32 : dt::f32;
  const dnnl::memory::desc a_md({s.m, s.k}, src_dt, tag::ab), c_md({s.m, s.n}, dst_dt, tag::ab);
  const dnnl::memory::desc vec_md({1, s.n}, dt::f32, tag::ab), any({s.k, s.n}, wei_dt, tag::any);
  dnnl::primitive_attr attr;
  dnnl::post_ops po;
  const bool binary = v.kind == Kind::kS8Binary || v.kind == Kind::kU8Binary || v.kind == Kind::kU8RuntimeZp ||
                      v.kind == Kind::kU8FixedZp || v.kind == Kind::kU8ZpSwish;
  const bool bias_mul = v.kind == Kind::kU8ZpBiasMul || v.kind == Kind::kU8ZpBiasMulSwish;
  const bool runtime_zp = v.kind == Kind::kU8RuntimeZp || v.kind == Kind::kU8ZpNoPost || v.kind == Kind::kU8ZpS32 ||
                          v.kind == Kind::kU8ZpSwish || v.kind == Kind::kU8ZpMulOnly || bias_mul;
  const bool scale_post_op = binary || bias_mul || v.kind == Kind::kU8ZpMulOnly;
  if (scale_post_op) po.append_binary(dnnl::algorithm::binary_mul, vec_md);
  if (binary) po.append_binary(dnnl::algorithm::binary_add, vec_md);
  if (v.kind == Kind::kU8ZpSwish || v.kind == Kind::kU8ZpBiasMulSwish) {
    po.append_eltwise(1.0f, dnnl::algorithm::eltwise_swish, 1.702f, 0.0f);
  }
  if (v.kind == Kind::kU8FixedScales) attr.set_output_scales(1 << 1, std::vector<float>(s.n, 0.5f));
  if (runtime_zp) attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
  if (v.kind == Kind::kU8FixedZp) attr.set_zero_points(DNNL_ARG_SRC, 0, {128});
  if (v.kind == Kind::kS8RuntimeScales) attr.set_output_scales(1 << 1, {DNNL_RUNTIME_F32_VAL});
  const bool bias_input = bias_mul || v.kind == Kind::kF32 || v.kind == Kind::kBf16 || v.kind == Kind::kS8RuntimeScales;
  attr.set_post_ops(po);
  const auto desc = bias_input ? dnnl::matmul::desc(a_md, any, vec_md, c_md) : dnnl::matmul::desc(a_md, any, c_md);
  const dnnl::matmul::primitive_desc pd(desc, attr, engine);
  const std::string impl = pd.impl_info_str();
  if (impl.rfind("ref", 0) == 0) {
    std::printf("%-26s %-8s %-28s skipped (reference kernel)\n", v.name, s.name, impl.c_str());
    return;
  }
  dnnl::memory a(a_md, engine), w(pd.weights_desc(), engine), c(c_md, engine), vec(vec_md, engine), vec2(vec_md, engine);
  dnnl::memory scales({{s.n}, dt::f32, tag::a}, engine), zp({{1}, dt::s32, tag::a}, engine);
  std::fill_n(static_cast<char*>(a.get_data_handle()), a_md.get_size(), 1);
  std::fill_n(static_cast<char*>(w.get_data_handle()), pd.weights_desc().get_size(), 0);
  std::fill_n(static_cast<float*>(vec.get_data_handle()), s.n, 0.5f);
  std::fill_n(static_cast<float*>(vec2.get_data_handle()), s.n, 0.25f);
  std::fill_n(static_cast<float*>(scales.get_data_handle()), s.n, 0.5f);
  *static_cast<int32_t*>(zp.get_data_handle()) = 128;
  std::unordered_map<int, dnnl::memory> args = {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, c}};
  if (bias_input) args[DNNL_ARG_BIAS] = vec2;
  if (scale_post_op) args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1] = vec;
  if (binary) args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(1) | DNNL_ARG_SRC_1] = vec2;
  if (runtime_zp) args[DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC] = zp;
  if (v.kind == Kind::kS8RuntimeScales) args[DNNL_ARG_ATTR_OUTPUT_SCALES] = scales;
  const dnnl::matmul primitive(pd);
  dnnl::stream stream(engine);
  std::vector<float> out(v.kind == Kind::kS8RowDequant ? s.m * s.n : 0), row_scale(s.m, 0.01f);
  auto call = [&] {
    primitive.execute(stream, args);
    stream.wait();
    if (v.kind == Kind::kS8RowDequant) {  // dequantize with row x column scales, add bias
      const auto* acc = static_cast<const int32_t*>(c.get_data_handle());
      const auto* col = static_cast<const float*>(vec.get_data_handle());
      const auto* bias = static_cast<const float*>(vec2.get_data_handle());
#pragma omp parallel for schedule(static)
      for (int64_t i = 0; i < s.m; ++i) {
        const float r = row_scale[i];
#pragma omp simd
        for (int64_t j = 0; j < s.n; ++j) out[i * s.n + j] = static_cast<float>(acc[i * s.n + j]) * (r * col[j]) + bias[j];
      }
    }
  };
  double median;
  const double best = Seconds(call, iterations, &median);
  std::printf("%-26s %-8s %-28s best %7.3f ms  median %7.3f ms  %6.0f GFLOP/s (best)\n", v.name, s.name, impl.c_str(),
              best * 1e3, median * 1e3, 2.0 * s.m * s.k * s.n / best * 1e-9);
}

}  // namespace

int main(int argc, char** argv) {
  const int iterations = argc > 1 ? std::atoi(argv[1]) : 50;
  const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  const Shape shapes[] = {{"qkv", 400, 768, 2304}, {"out_proj", 400, 768, 768}, {"fc1", 400, 768, 3072}, {"fc2", 400, 3072, 768}};
  const Variant variants[] = {{"f32", Kind::kF32},
                              {"bf16", Kind::kBf16},
                              {"s8s8 binary", Kind::kS8Binary},
                              {"u8s8 binary", Kind::kU8Binary},
                              {"u8s8 runtime zero point", Kind::kU8RuntimeZp},
                              {"u8s8 fixed zero point", Kind::kU8FixedZp},
                              {"s8s8 runtime scales", Kind::kS8RuntimeScales},
                              {"s8s8 s32 + row dequant", Kind::kS8RowDequant},
                              {"u8 zp bias mul", Kind::kU8ZpBiasMul},
                              {"u8 zp bias mul swish", Kind::kU8ZpBiasMulSwish},
                              {"u8 zp no post", Kind::kU8ZpNoPost},
                              {"u8 zp s32", Kind::kU8ZpS32},
                              {"u8 zp mul", Kind::kU8ZpMulOnly},
                              {"u8 zp swish", Kind::kU8ZpSwish},
                              {"u8 fixed scales", Kind::kU8FixedScales}};
  for (const auto& v : variants) {
    for (const auto& s : shapes) Run(v, s, iterations, engine);
  }
  return 0;
}
