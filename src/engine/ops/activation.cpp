#include "engine/ops/activation.h"

#include <cmath>
#include <string>

#include "base/error.h"

namespace mms::ops {

Activation ParseActivation(std::string_view hidden_act) {
  if (hidden_act == "gelu") return Activation::kGelu;
  if (hidden_act == "gelu_new" || hidden_act == "gelu_pytorch_tanh" || hidden_act == "gelu_fast") return Activation::kGeluTanh;
  if (hidden_act == "quick_gelu") return Activation::kQuickGelu;
  if (hidden_act == "relu") return Activation::kRelu;
  ThrowInvalidModel("unsupported hidden_act \"" + std::string(hidden_act) + "\"");
}

float ActivationValue(Activation act, float x) {
  switch (act) {
    case Activation::kNone: return x;
    case Activation::kGelu: return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f));
    case Activation::kGeluTanh: {
      const float inner = 0.7978845608028654f * (x + 0.044715f * x * x * x);
      return 0.5f * x * (1.0f + std::tanh(inner));
    }
    case Activation::kQuickGelu: return x / (1.0f + std::exp(-1.702f * x));
    case Activation::kRelu: return x > 0 ? x : 0;
  }
  return x;
}

void ApplyActivation(Activation act, float* x, int64_t n) {
  if (act == Activation::kNone) return;
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) x[i] = ActivationValue(act, x[i]);
}

}  // namespace mms::ops
