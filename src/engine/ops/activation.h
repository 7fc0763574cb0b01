#pragma once

#include <cstdint>
#include <string_view>

namespace mms::ops {

// Activations of the MLP blocks; names follow Hugging Face's `hidden_act`.
enum class Activation { kNone, kGelu, kGeluTanh, kQuickGelu, kRelu };

// "gelu" | "gelu_new" | "gelu_pytorch_tanh" | "quick_gelu" | "relu"; throws kInvalidModel otherwise.
Activation ParseActivation(std::string_view hidden_act);

float ActivationValue(Activation act, float x);

// x[i] = act(x[i]) for n elements.
void ApplyActivation(Activation act, float* x, int64_t n);

}  // namespace mms::ops
