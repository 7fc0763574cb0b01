// What a generative model that reads images (LLaVA) offers the server beyond
// GenerativeModel: the placeholder token its prompts carry, how many positions each image
// takes, and the encoder that turns preprocessed pixels into the embeddings written at
// those positions (models/generative_model.h's InjectedEmbedding).
#pragma once

#include <cstdint>
#include <string>

#include "layers/workspace.h"

namespace mms::models {

class ImageEncoder {
 public:
  virtual ~ImageEncoder() = default;

  // The prompt's placeholder id (LLaVA's <image>, config.json's image_token_index).
  virtual int32_t image_token_id() const = 0;
  // Positions each image fills (image_seq_length: 576 for a 336 px ViT-L/14 tower).
  virtual int64_t positions_per_image() const = 0;
  // Floats per position: the language model's hidden size.
  virtual int64_t feature_size() const = 0;
  // Side of the square the preprocessed image must have, in pixels.
  virtual int64_t image_size() const = 0;
  // pixels: [n, 3, image_size, image_size], normalized as preprocessor_config.json says.
  // features: [n, positions_per_image, feature_size].
  virtual void EncodeImages(const float* pixels, int64_t n, float* features, Workspace& ws) const = 0;
};

}  // namespace mms::models
