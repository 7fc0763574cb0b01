#include "layers/stacked_linear.h"

#include <cstring>

#include "engine/ops/quantize.h"
#include "io/checkpoint.h"

namespace mms::layers {

Linear LoadStackedLinear(const io::Checkpoint& ckpt, const std::vector<StackedPart>& parts, int64_t in,
                         Precision precision) {
  int64_t out = 0;
  bool any_bias = false;
  for (const auto& p : parts) {
    out += p.out;
    any_bias = any_bias || p.has_bias;
  }
  std::vector<float> bias(any_bias ? out : 0, 0.0f);
  int64_t row = 0;
  for (const auto& p : parts) {
    if (p.has_bias) {
      const Tensor b = ckpt.Float32(p.prefix + ".bias", {p.out});
      std::memcpy(bias.data() + row, b.data<float>(), b.nbytes());
    }
    row += p.out;
  }
  const float* bias_ptr = any_bias ? bias.data() : nullptr;
  if (parts.size() == 1 && precision != Precision::kInt8) {
    const Tensor w = ckpt.Float32(parts[0].prefix + ".weight", {parts[0].out, in});
    return Linear::FromOutIn(w.data<float>(), out, in, bias_ptr, precision);
  }
  if (precision == Precision::kInt8) {
    // Quantization is per row, so stacking stored int8 parts with parts quantized here is exact.
    std::vector<int8_t> q(static_cast<size_t>(out * in));
    std::vector<float> scales(out);
    row = 0;
    for (const auto& p : parts) {
      const std::string name = p.prefix + ".weight";
      if (ckpt.IsInt8(name)) {
        const io::Int8Tensor stored = ckpt.Int8(name, {p.out, in});
        std::memcpy(q.data() + row * in, stored.values.raw(), stored.values.nbytes());
        std::memcpy(scales.data() + row, stored.scales.raw(), stored.scales.nbytes());
      } else {
        const Tensor w = ckpt.Float32(name, {p.out, in});
        ops::QuantizeRowsS8(w.data<float>(), p.out, in, q.data() + row * in, scales.data() + row);
      }
      row += p.out;
    }
    return Linear::FromOutInInt8(q.data(), scales.data(), out, in, bias_ptr);
  }
  std::vector<float> w(static_cast<size_t>(out * in));
  row = 0;
  for (const auto& p : parts) {
    const Tensor src = ckpt.Float32(p.prefix + ".weight", {p.out, in});
    std::memcpy(w.data() + row * in, src.data<float>(), src.nbytes());
    row += p.out;
  }
  return Linear::FromOutIn(w.data(), out, in, bias_ptr, precision);
}

}  // namespace mms::layers
