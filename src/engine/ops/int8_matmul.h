// int8 matrix product: weights quantized per output channel at load (symmetric s8,
// scale = max|w| / 127), activations quantized per call with one scale and zero point for
// the whole matrix (asymmetric u8), products accumulated in int32, dequantized to float32
// and then bias, activation and residual accumulate in float32, all inside oneDNN's kernel.
//
// Choices, measured (min cosine to fp32 over the golden images / texts; on the tiny
// checkpoint by precision_quality_test, on a random ViT-B/32 by
// bench/check_precision_full_size.sh; speed by bench/int8_matmul_variants.cpp, M = 400,
// 2 threads):
//
//                                    tiny: images / texts   ViT-B/32: images / texts
//   s8 symmetric, one scale per call    0.99976 / 0.99950        0.99965 / 0.99898
//   s8 symmetric, one scale per row     0.99978 / 0.99960        0.99978 / 0.99942
//   u8 with zero point, per call        0.99977 / 0.99931        0.99975 / 0.99924  <- this
//
// - u8 with a zero point rather than s8: the same speed on AMX, 14-17% faster on
//   AVX512-VNNI without AMX (vpdpbusd multiplies u8 by s8; an s8 source costs oneDNN a
//   shift and a compensation term), and the full 0..255 range over [min, max] instead of
//   half of it wasted on the side a post-GELU activation barely reaches. The zero point
//   changes per call at no cost: oneDNN packs Σk w[k, n] with the weights once.
// - One scale per call rather than per row (token): oneDNN 2.6's brgemm kernels take the
//   per-column scale vector as a binary post-op fused with bias, activation and residual
//   add, but a per-row [M, 1] operand sends the call to its reference kernel; per-row
//   scales need an int32 output and an epilogue of our own (dequantize, bias, GELU,
//   residual) outside the kernel. Per row lowers the text error at full size by about a
//   quarter; every variant is already ten times inside the 0.99 bar, so the fully fused
//   kernel wins. Real checkpoints with outlier tokens may move this; the scripts above
//   are where to re-measure.
//
// Calls of 1 to 4 rows (decode steps) on AVX512-VNNI run mmserve's own kernel over the same
// packed weights (int8_gemv_vnni.h): the same quantization and exact int32 sums, so the
// same results as oneDNN's up to float rounding in the epilogue; measured 58-75 GB/s of
// weights streamed against oneDNN's 52-69 on TinyLlama's shapes (2 threads, AMD EPYC).
#pragma once

#include <cstdint>
#include <memory>

#include "engine/ops/packed_matmul.h"

namespace mms::ops {

// q: row-major [n, k] int8 (PyTorch's [out, in]) in -127..127; scales: [n],
// w[j, :] ≈ q[j, :] · scales[j].
std::unique_ptr<PackedMatMul> PackInt8(const int8_t* q, const float* scales, int64_t n, int64_t k);

// The largest activation code the int8 products use on this CPU: 255, or 127 where
// oneDNN's kernel multiplies u8 by s8 with vpmaddubsw (CPUs without VNNI, and any CPU
// under ONEDNN_MAX_CPU_ISA=AVX2), which adds products in pairs into int16 and saturates
// beyond 32767: 255 · 127 · 2 does not fit, 127 · 127 · 2 does. Found by running a
// product whose pairs would saturate, once per process.
int32_t Int8ActivationMaxCode();

namespace reference {
// a quantized with reference::QuantizeU8, integer products summed exactly, then
// dequantized with the same float32 operations as the fast path.
void MatMulInt8(const float* a, const int8_t* q, const float* scales, const float* bias, float* c, int64_t m, int64_t n,
                int64_t k, Epilogue epilogue = {}, int32_t max_code = 255);
}  // namespace reference

}  // namespace mms::ops
