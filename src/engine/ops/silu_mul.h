// The gate of a SiLU-gated MLP (LLaMA's act_fn(gate_proj(x)) * up_proj(x)) over the output
// of one concatenated gate|up projection:
//   gate_up: [rows, 2 * width]  (gate in columns [0, width), up in [width, 2 * width))
//   out:     [rows, width]      out = silu(gate) * up, silu(g) = g / (1 + exp(-g))
// All float32.
#pragma once

#include <cstdint>

namespace mms::ops {

void SiluMul(const float* gate_up, float* out, int64_t rows, int64_t width);

namespace reference {
void SiluMul(const float* gate_up, float* out, int64_t rows, int64_t width);
}  // namespace reference

}  // namespace mms::ops
