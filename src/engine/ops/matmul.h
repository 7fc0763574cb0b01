// Dense matrix product with a fused epilogue:
//   c[M,N] = act(a[M,K] · b[K,N] + bias[N])            (accumulate = false)
//   c[M,N] = act(a[M,K] · b[K,N] + bias[N]) + c[M,N]   (accumulate = true: a fused residual add)
// All row-major float32. bias may be null.
#pragma once

#include <cstdint>

#include "engine/ops/activation.h"

namespace mms::ops {

struct Epilogue {
  Activation activation = Activation::kNone;
  bool accumulate = false;
};

// Fast path: oneDNN (JIT kernels for the CPU found at run time, AMX/AVX-512/AVX2).
void MatMul(const float* a, const float* b, const float* bias, float* c, int64_t m, int64_t n, int64_t k,
            Epilogue epilogue = {});

namespace reference {
// Plain loops with double accumulation: the yardstick the fast path is tested against.
void MatMul(const float* a, const float* b, const float* bias, float* c, int64_t m, int64_t n, int64_t k,
            Epilogue epilogue = {});
}  // namespace reference

}  // namespace mms::ops
