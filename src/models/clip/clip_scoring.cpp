#include "models/clip/clip_scoring.h"

#include <algorithm>
#include <cmath>

namespace mms::models {

namespace {
double Norm(const float* v, int64_t dim) {
  double s = 0;
  for (int64_t i = 0; i < dim; ++i) s += static_cast<double>(v[i]) * v[i];
  return std::sqrt(s);
}
}  // namespace

std::vector<float> ClipLogits(const float* image_embed, const float* text_embeds, int64_t num_texts, int64_t dim,
                              float logit_scale) {
  std::vector<float> logits(num_texts);
  const double image_norm = std::max(Norm(image_embed, dim), 1e-12);
  for (int64_t t = 0; t < num_texts; ++t) {
    const float* text = text_embeds + t * dim;
    double dot = 0;
    for (int64_t i = 0; i < dim; ++i) dot += static_cast<double>(image_embed[i]) * text[i];
    logits[t] = static_cast<float>(logit_scale * dot / (image_norm * std::max(Norm(text, dim), 1e-12)));
  }
  return logits;
}

std::vector<float> Softmax(const std::vector<float>& logits) {
  std::vector<float> probs(logits.size());
  if (logits.empty()) return probs;
  const double max_logit = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  std::vector<double> e(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) sum += e[i] = std::exp(logits[i] - max_logit);
  for (size_t i = 0; i < logits.size(); ++i) probs[i] = static_cast<float>(e[i] / sum);
  return probs;
}

}  // namespace mms::models
