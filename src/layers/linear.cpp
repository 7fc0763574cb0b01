#include "layers/linear.h"

#include <cstring>

#include "base/error.h"
#include "engine/dtype.h"
#include "engine/ops/bf16_matmul.h"
#include "engine/ops/int8_matmul.h"
#include "engine/ops/quantize.h"
#include "io/checkpoint.h"

namespace mms::layers {

Linear Linear::Load(const io::Checkpoint& ckpt, const std::string& prefix, int64_t in, int64_t out, bool with_bias,
                    Precision precision) {
  return LoadConcatenated(ckpt, {prefix}, in, out, with_bias, precision);
}

Linear Linear::LoadConcatenated(const io::Checkpoint& ckpt, const std::vector<std::string>& prefixes, int64_t in,
                                int64_t out_each, bool with_bias, Precision precision) {
  Linear l;
  l.in_ = in;
  l.out_ = out_each * static_cast<int64_t>(prefixes.size());
  if (with_bias) l.bias_ = Tensor::Empty({l.out_}, DType::kF32);
  for (size_t p = 0; p < prefixes.size(); ++p) {
    if (with_bias) {
      const Tensor b = ckpt.Float32(prefixes[p] + ".bias", {out_each});
      std::memcpy(l.bias_.data<float>() + p * out_each, b.data<float>(), out_each * sizeof(float));
    }
  }
  // Stacking [out_each, in] blocks row after row gives the [out, in] matrix of the whole.
  // Scales are per row, so quantizing before or after stacking is the same.
  const std::vector<int64_t> shape = {out_each, in};
  if (precision == Precision::kInt8) {
    std::vector<int8_t> q(l.out_ * in);
    std::vector<float> scales(l.out_);
    for (size_t p = 0; p < prefixes.size(); ++p) {
      const std::string name = prefixes[p] + ".weight";
      int8_t* q_block = q.data() + p * out_each * in;
      float* s_block = scales.data() + p * out_each;
      if (ckpt.IsInt8(name)) {
        const io::Int8Tensor stored = ckpt.Int8(name, shape);
        std::memcpy(q_block, stored.values.raw(), stored.values.nbytes());
        std::memcpy(s_block, stored.scales.raw(), stored.scales.nbytes());
      } else {
        const Tensor w = ckpt.Float32(name, shape);
        ops::QuantizeRowsS8(w.data<float>(), out_each, in, q_block, s_block);
      }
    }
    l.SetInt8Weights(q.data(), scales.data());
    return l;
  }
  std::vector<float> w(l.out_ * in);
  for (size_t p = 0; p < prefixes.size(); ++p) {
    const Tensor src = ckpt.Float32(prefixes[p] + ".weight", shape);
    std::memcpy(w.data() + p * out_each * in, src.data<float>(), src.nbytes());
  }
  l.SetWeights(w.data(), precision);
  return l;
}

Linear Linear::FromOutIn(const float* weight_out_in, int64_t out, int64_t in, const float* bias, Precision precision) {
  Linear l;
  l.in_ = in;
  l.out_ = out;
  if (bias) {
    l.bias_ = Tensor::Empty({out}, DType::kF32);
    std::memcpy(l.bias_.data<float>(), bias, out * sizeof(float));
  }
  l.SetWeights(weight_out_in, precision);
  return l;
}

Linear Linear::FromOutInInt8(const int8_t* q, const float* scales, int64_t out, int64_t in, const float* bias) {
  Linear l;
  l.in_ = in;
  l.out_ = out;
  if (bias) {
    l.bias_ = Tensor::Empty({out}, DType::kF32);
    std::memcpy(l.bias_.data<float>(), bias, out * sizeof(float));
  }
  l.SetInt8Weights(q, scales);
  return l;
}

void Linear::SetWeights(const float* w, Precision precision) {
  precision_ = precision;
  switch (precision) {
    case Precision::kFp32: {
      weight_ = Tensor::Empty({in_, out_}, DType::kF32);
      float* t = weight_.data<float>();
      for (int64_t o = 0; o < out_; ++o) {
        for (int64_t i = 0; i < in_; ++i) t[i * out_ + o] = w[o * in_ + i];
      }
      break;
    }
    case Precision::kBf16: {
      std::vector<uint16_t> w16(out_ * in_);
      for (size_t i = 0; i < w16.size(); ++i) w16[i] = FloatToBFloat16(w[i]);
      packed_ = ops::PackBf16(w16.data(), out_, in_);
      break;
    }
    case Precision::kInt8: {
      std::vector<int8_t> q(out_ * in_);
      std::vector<float> scales(out_);
      ops::QuantizeRowsS8(w, out_, in_, q.data(), scales.data());
      SetInt8Weights(q.data(), scales.data());
      break;
    }
  }
}

void Linear::SetInt8Weights(const int8_t* q, const float* scales) {
  precision_ = Precision::kInt8;
  packed_ = ops::PackInt8(q, scales, out_, in_);
}

void Linear::Forward(const float* x, int64_t rows, float* y, ops::Epilogue epilogue) const {
  const float* bias = bias_.empty() ? nullptr : bias_.data<float>();
  if (packed_) {
    packed_->Run(x, bias, y, rows, epilogue);
  } else {
    ops::MatMul(x, weight_.data<float>(), bias, y, rows, out_, in_, epilogue);
  }
}

void Linear::Forward(const uint16_t* x, int64_t rows, float* y, ops::Epilogue epilogue) const {
  if (precision_ != Precision::kBf16) ThrowInternal("Linear: bf16 input given to a layer that is not bf16");
  packed_->RunBf16(x, bias_.empty() ? nullptr : bias_.data<float>(), y, false, rows, epilogue);
}

void Linear::Forward(const uint8_t* x, ops::U8Params x_params, int64_t rows, float* y, ops::Epilogue epilogue) const {
  if (precision_ != Precision::kInt8) ThrowInternal("Linear: u8 input given to a layer that is not int8");
  packed_->RunU8(x, x_params, bias_.empty() ? nullptr : bias_.data<float>(), y, rows, epilogue);
}

void Linear::ForwardToBf16(const uint16_t* x, int64_t rows, uint16_t* y, ops::Epilogue epilogue) const {
  if (precision_ != Precision::kBf16) ThrowInternal("Linear: bf16 input given to a layer that is not bf16");
  if (epilogue.accumulate) ThrowInternal("Linear: a bf16 output cannot take a residual accumulate");
  packed_->RunBf16(x, bias_.empty() ? nullptr : bias_.data<float>(), y, true, rows, epilogue);
}

}  // namespace mms::layers
