#include "layers/rotary_embedding.h"

#include <cmath>
#include <numbers>

namespace mms::layers {

RotaryEmbedding::RotaryEmbedding(int head_dim, double theta, const RopeScaling& s) : head_dim_(head_dim) {
  const int half = head_dim / 2;
  inv_freq_.resize(half);
  for (int i = 0; i < half; ++i) {
    double f = 1.0 / std::pow(theta, static_cast<double>(2 * i) / head_dim);
    switch (s.kind) {
      case RopeScaling::Kind::kNone: break;
      // Dividing positions by the factor, as HF does, is dividing the frequencies by it.
      case RopeScaling::Kind::kLinear: f /= s.factor; break;
      case RopeScaling::Kind::kLlama3: {
        // Long wavelengths (low frequencies) are slowed by the factor, short ones kept,
        // and the band between blended linearly in old_context / wavelength.
        const double wavelen = 2.0 * std::numbers::pi / f;
        const double low_freq_wavelen = s.original_max_position_embeddings / s.low_freq_factor;
        const double high_freq_wavelen = s.original_max_position_embeddings / s.high_freq_factor;
        if (wavelen > low_freq_wavelen) {
          f /= s.factor;
        } else if (wavelen >= high_freq_wavelen) {
          const double smooth = (s.original_max_position_embeddings / wavelen - s.low_freq_factor) /
                                (s.high_freq_factor - s.low_freq_factor);
          f = (1.0 - smooth) * f / s.factor + smooth * f;
        }
        break;
      }
    }
    inv_freq_[i] = f;
  }
}

void RotaryEmbedding::CosSin(int64_t position, float* cos, float* sin) const {
  for (size_t i = 0; i < inv_freq_.size(); ++i) {
    const double angle = static_cast<double>(position) * inv_freq_[i];
    cos[i] = static_cast<float>(std::cos(angle));
    sin[i] = static_cast<float>(std::sin(angle));
  }
}

void RotaryEmbedding::Apply(float* x, int64_t heads, const float* cos, const float* sin) const {
  const int half = head_dim_ / 2;
  for (int64_t h = 0; h < heads; ++h) {
    float* x1 = x + h * head_dim_;
    float* x2 = x1 + half;
#pragma omp simd
    for (int i = 0; i < half; ++i) {
      const float a = x1[i], b = x2[i];
      x1[i] = a * cos[i] - b * sin[i];
      x2[i] = b * cos[i] + a * sin[i];
    }
  }
}

}  // namespace mms::layers
