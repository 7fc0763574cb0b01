#include "engine/ops/bf16_matmul.h"

#include <string>
#include <vector>

#include "engine/dtype.h"
#include "engine/op_profile.h"
#include "engine/onednn_context.h"
#include "engine/ops/bf16_convert.h"
#include "engine/ops/onednn_matmul_common.h"

namespace mms::ops {

namespace {

using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

// The row count the weights are laid out for at load. The layout oneDNN picks blocks K
// and N only, so it fits other row counts too (see detail::PackedWeights for the rest).
constexpr int64_t kPackRows = 256;

class Bf16MatMul final : public PackedMatMul {
 public:
  Bf16MatMul(const uint16_t* w, int64_t n, int64_t k) : PackedMatMul(k, n) {
    const auto pd = Describe(kPackRows, dnnl::memory::desc({k, n}, dt::bf16, tag::any), true, {});
    // [n, k] row-major is the [k, n] matrix in "ba" order.
    weights_.Pack(dnnl::memory({{k, n}, dt::bf16, tag::ba}, CpuEngine(), const_cast<uint16_t*>(w)), pd.weights_desc());
  }

  Precision precision() const override { return Precision::kBf16; }

  void Run(const float* a, const float* bias, float* c, int64_t m, Epilogue epilogue) const override {
    auto* a16 = static_cast<uint16_t*>(detail::ThreadScratch(0, m * k() * sizeof(uint16_t)));
    {
      profile::NestedTimer convert("to_bf16");
      ConvertToBf16(a, a16, m * k());
    }
    RunBf16(a16, bias, c, false, m, epilogue);
  }

  void RunBf16(const uint16_t* a, const float* bias, void* c, bool c_bf16, int64_t m,
               Epilogue epilogue) const override {
    const dnnl::engine& engine = CpuEngine();
    const auto [pd, weights] = Select(m, bias != nullptr, epilogue, c_bf16);
    std::unordered_map<int, dnnl::memory> args = {
        {DNNL_ARG_SRC, dnnl::memory(pd.src_desc(), engine, const_cast<uint16_t*>(a))},
        {DNNL_ARG_WEIGHTS, weights},
        {DNNL_ARG_DST, dnnl::memory(pd.dst_desc(), engine, c)}};
    if (bias) args.emplace(DNNL_ARG_BIAS, dnnl::memory({{1, n()}, dt::f32, tag::ab}, engine, const_cast<float*>(bias)));
    detail::Execute(dnnl::matmul(pd), args);  // oneDNN's primitive cache makes this a lookup
  }

  std::string KernelName(int64_t m, Epilogue epilogue) const override {
    return Select(m, true, epilogue).pd.impl_info_str();
  }

 private:
  dnnl::matmul::primitive_desc Describe(int64_t m, const dnnl::memory::desc& weights, bool bias, Epilogue epilogue,
                                        bool c_bf16 = false) const {
    const dnnl::memory::desc a_md({m, k()}, dt::bf16, tag::ab), c_md({m, n()}, c_bf16 ? dt::bf16 : dt::f32, tag::ab);
    const dnnl::memory::desc bias_md({1, n()}, dt::f32, tag::ab);
    dnnl::post_ops post_ops;
    detail::AppendEpilogue(post_ops, epilogue);
    dnnl::primitive_attr attr;
    attr.set_post_ops(post_ops);
    const auto desc = bias ? dnnl::matmul::desc(a_md, weights, bias_md, c_md) : dnnl::matmul::desc(a_md, weights, c_md);
    return dnnl::matmul::primitive_desc(desc, attr, CpuEngine());
  }

  detail::PackedWeights::Selected Select(int64_t m, bool bias, Epilogue epilogue, bool c_bf16 = false) const {
    return weights_.Select(
        [&](const dnnl::memory::desc& weights) { return Describe(m, weights, bias, epilogue, c_bf16); }, "bf16", m);
  }

  detail::PackedWeights weights_;
};

}  // namespace

std::unique_ptr<PackedMatMul> PackBf16(const uint16_t* w, int64_t n, int64_t k) {
  return std::make_unique<Bf16MatMul>(w, n, k);
}

namespace reference {

void MatMulBf16(const float* a, const uint16_t* w, const float* bias, float* c, int64_t m, int64_t n, int64_t k,
                Epilogue epilogue) {
  std::vector<float> row(k);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t p = 0; p < k; ++p) row[p] = BFloat16ToFloat(FloatToBFloat16(a[i * k + p]));
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0.0;
      for (int64_t p = 0; p < k; ++p) acc += static_cast<double>(row[p]) * BFloat16ToFloat(w[j * k + p]);
      if (bias) acc += bias[j];
      const float v = ActivationValue(epilogue.activation, static_cast<float>(acc));
      c[i * n + j] = epilogue.accumulate ? c[i * n + j] + v : v;
    }
  }
}

}  // namespace reference

}  // namespace mms::ops
