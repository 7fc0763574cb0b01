#include "layers/linear.h"

#include <cstring>

#include "io/checkpoint.h"

namespace mms::layers {

Linear Linear::Load(const io::Checkpoint& ckpt, const std::string& prefix, int64_t in, int64_t out, bool with_bias) {
  return LoadConcatenated(ckpt, {prefix}, in, out, with_bias);
}

Linear Linear::LoadConcatenated(const io::Checkpoint& ckpt, const std::vector<std::string>& prefixes, int64_t in,
                                int64_t out_each, bool with_bias) {
  Linear l;
  l.in_ = in;
  l.out_ = out_each * static_cast<int64_t>(prefixes.size());
  l.weight_ = Tensor::Empty({in, l.out_}, DType::kF32);
  if (with_bias) l.bias_ = Tensor::Empty({l.out_}, DType::kF32);
  float* w = l.weight_.data<float>();
  for (size_t p = 0; p < prefixes.size(); ++p) {
    const Tensor src = ckpt.Float32(prefixes[p] + ".weight", {out_each, in});
    const float* s = src.data<float>();
    const int64_t col0 = static_cast<int64_t>(p) * out_each;
    for (int64_t o = 0; o < out_each; ++o) {
      for (int64_t i = 0; i < in; ++i) w[i * l.out_ + col0 + o] = s[o * in + i];
    }
    if (with_bias) {
      const Tensor b = ckpt.Float32(prefixes[p] + ".bias", {out_each});
      std::memcpy(l.bias_.data<float>() + col0, b.data<float>(), out_each * sizeof(float));
    }
  }
  return l;
}

Linear Linear::FromOutIn(const float* weight_out_in, int64_t out, int64_t in, const float* bias) {
  Linear l;
  l.in_ = in;
  l.out_ = out;
  l.weight_ = Tensor::Empty({in, out}, DType::kF32);
  float* w = l.weight_.data<float>();
  for (int64_t o = 0; o < out; ++o) {
    for (int64_t i = 0; i < in; ++i) w[i * out + o] = weight_out_in[o * in + i];
  }
  if (bias) {
    l.bias_ = Tensor::Empty({out}, DType::kF32);
    std::memcpy(l.bias_.data<float>(), bias, out * sizeof(float));
  }
  return l;
}

void Linear::Forward(const float* x, int64_t rows, float* y, ops::Epilogue epilogue) const {
  ops::MatMul(x, weight_.data<float>(), bias_.empty() ? nullptr : bias_.data<float>(), y, rows, out_, in_, epilogue);
}

}  // namespace mms::layers
