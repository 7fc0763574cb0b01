#include "engine/ops/matmul.h"

#include <oneapi/dnnl/dnnl.hpp>

#include "engine/onednn_context.h"
#include "engine/ops/onednn_matmul_common.h"

namespace mms::ops {

void MatMul(const float* a, const float* b, const float* bias, float* c, int64_t m, int64_t n, int64_t k,
            Epilogue epilogue) {
  using tag = dnnl::memory::format_tag;
  using dt = dnnl::memory::data_type;
  const dnnl::engine& engine = CpuEngine();

  dnnl::memory::desc a_md({m, k}, dt::f32, tag::ab);
  dnnl::memory::desc b_md({k, n}, dt::f32, tag::ab);
  dnnl::memory::desc c_md({m, n}, dt::f32, tag::ab);
  dnnl::memory::desc bias_md({1, n}, dt::f32, tag::ab);

  dnnl::post_ops post_ops;
  detail::AppendEpilogue(post_ops, epilogue);
  dnnl::primitive_attr attr;
  attr.set_post_ops(post_ops);

  // oneDNN keeps its own cache of compiled primitives keyed by this descriptor, so
  // re-creating the primitive for a shape seen before is a cache hit, not a JIT compile.
  dnnl::matmul::desc desc = bias ? dnnl::matmul::desc(a_md, b_md, bias_md, c_md) : dnnl::matmul::desc(a_md, b_md, c_md);
  dnnl::matmul::primitive_desc pd(desc, attr, engine);
  dnnl::matmul primitive(pd);

  dnnl::memory a_mem(a_md, engine, const_cast<float*>(a));
  dnnl::memory b_mem(b_md, engine, const_cast<float*>(b));
  dnnl::memory c_mem(c_md, engine, c);
  std::unordered_map<int, dnnl::memory> args = {{DNNL_ARG_SRC, a_mem}, {DNNL_ARG_WEIGHTS, b_mem}, {DNNL_ARG_DST, c_mem}};
  if (bias) args.emplace(DNNL_ARG_BIAS, dnnl::memory(bias_md, engine, const_cast<float*>(bias)));
  detail::Execute(primitive, args);
}

namespace reference {

void MatMul(const float* a, const float* b, const float* bias, float* c, int64_t m, int64_t n, int64_t k,
            Epilogue epilogue) {
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double acc = bias ? bias[j] : 0.0;
      for (int64_t p = 0; p < k; ++p) acc += static_cast<double>(a[i * k + p]) * b[p * n + j];
      float v = ActivationValue(epilogue.activation, static_cast<float>(acc));
      c[i * n + j] = epilogue.accumulate ? c[i * n + j] + v : v;
    }
  }
}

}  // namespace reference

}  // namespace mms::ops
