#pragma once

#include <cstdint>
#include <vector>

namespace mms::models {

// Cosine similarity of one image embedding with each text embedding, times
// logit_scale: CLIP's logits_per_image row.
std::vector<float> ClipLogits(const float* image_embed, const float* text_embeds, int64_t num_texts, int64_t dim,
                              float logit_scale);

// Softmax over a row of logits (computed in double: label sets can be large and peaked).
std::vector<float> Softmax(const std::vector<float>& logits);

}  // namespace mms::models
