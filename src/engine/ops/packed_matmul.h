// A matrix product whose weights were converted and laid out once, at load, in the
// blocked format oneDNN's kernel for this CPU reads (e.g. bf16 pairs interleaved for AMX
// tiles), so that a call only converts its activations. Made by PackBf16 (bf16_matmul.h)
// or PackInt8 (int8_matmul.h). Immutable; Run may be called from many threads at once.
#pragma once

#include <cstdint>
#include <string>

#include "engine/ops/matmul.h"
#include "engine/ops/quantize.h"
#include "engine/precision.h"

namespace mms::ops {

class PackedMatMul {
 public:
  virtual ~PackedMatMul() = default;

  int64_t k() const { return k_; }
  int64_t n() const { return n_; }
  virtual Precision precision() const = 0;

  // c[m, N] = act(a[m, K] · W + bias[N])  (+ c[m, N] when epilogue.accumulate), with a and c
  // row-major float32 and bias float32 or null: the contract of ops::MatMul.
  virtual void Run(const float* a, const float* bias, float* c, int64_t m, Epilogue epilogue = {}) const = 0;

  // bf16 products only: `a` already rounded to bf16 (no conversion per call), and c written
  // as bf16 when c_bf16 (the epilogue applied in float32 first, then rounded to nearest
  // even), else as float32. A product of another precision throws.
  virtual void RunBf16(const uint16_t* a, const float* bias, void* c, bool c_bf16, int64_t m,
                       Epilogue epilogue = {}) const;

  // int8 products only: `a` already quantized (codes 0..Int8ActivationMaxCode(), one scale and
  // zero point for the matrix, e.g. by ops::LayerNormToU8), so no quantization per call;
  // otherwise as Run. A product of another precision throws.
  virtual void RunU8(const uint8_t* a, U8Params a_params, const float* bias, float* c, int64_t m,
                     Epilogue epilogue = {}) const;

  // oneDNN's name for the kernel a call with m rows runs, e.g. "brg:avx512_core_amx_bf16".
  virtual std::string KernelName(int64_t m, Epilogue epilogue = {}) const = 0;

 protected:
  PackedMatMul(int64_t k, int64_t n) : k_(k), n_(n) {}

 private:
  int64_t k_, n_;
};

// Whether oneDNN runs this precision on this CPU with a kernel worth running: a JIT
// kernel, not its reference loops, and for bf16 native bf16 instructions (AVX512-BF16 or
// AMX; not there with ONEDNN_MAX_CPU_ISA=AVX2 or on older CPUs, where oneDNN emulates it).
// int8 runs on AVX2 and up. fp32 is always true. Probed once.
bool MatMulAccelerated(Precision precision);

// The precision to load a model in when `requested` is asked for: `requested` where it is
// accelerated, else fp32 (the weights stay float32), with *why saying what happened.
// Falling back keeps a model servable on any x86-64 CPU; the reason belongs in its log.
Precision RunnablePrecision(Precision requested, std::string* why);

}  // namespace mms::ops
