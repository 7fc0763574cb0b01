// 8-bit quantization, rounding half to even.
// - Weights, once at load: symmetric s8 with one scale per output channel (a row of
//   PyTorch's [out, in]): q = round(w · 127 / max|w|), w ≈ q · scale, scale = max|w| / 127.
// - Activations, once per matrix product: asymmetric u8 with one scale and zero point for
//   the whole matrix (int8_matmul.h says why): the range [min(x, 0), max(x, 0)] maps onto
//   0..max_code, q = round(x / scale) + zero_point, x ≈ (q - zero_point) · scale.
#pragma once

#include <cstdint>

namespace mms::ops {

// Per-row scales for a row-major [rows, cols] matrix: scales[r] = max|x[r, :]| / 127
// (1 for an all-zero row, whose q are all 0). Runs at load time and in `mmserve quantize`;
// both must give the same bits, so there is one plain implementation.
void QuantizeRowsS8(const float* x, int64_t rows, int64_t cols, int8_t* q, float* scales);

struct U8Params {
  float scale = 1.0f;      // (max - min) / max_code; 1 for an all-zero input
  int32_t zero_point = 0;  // the q that stands for 0.0, in 0..max_code
};

// One scale and zero point for all n values, codes 0..max_code (255, or 127 where the
// int8 kernel needs 7-bit activations: see Int8ActivationMaxCode in int8_matmul.h).
// Fast path: AVX-512 where the CPU has it.
U8Params QuantizeU8(const float* x, int64_t n, uint8_t* q, int32_t max_code = 255);

// The scale and zero point QuantizeU8 takes for values whose range is [lo, hi], lo <= 0 <= hi:
// for ops that quantize what they compute (ops::LayerNormToU8) and so find the range themselves.
U8Params U8ParamsForRange(float lo, float hi, int32_t max_code = 255);

namespace reference {
U8Params QuantizeU8(const float* x, int64_t n, uint8_t* q, int32_t max_code = 255);
}  // namespace reference

}  // namespace mms::ops
