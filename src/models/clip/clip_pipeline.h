// A servable CLIP: tokenizer + image preprocessing + the two towers, loaded from one
// checkpoint folder. Takes raw inputs (encoded image bytes, UTF-8 texts) and returns
// embeddings or zero-shot scores. Knows nothing about HTTP.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "media/clip_preprocess.h"
#include "media/image_decoder.h"
#include "models/clip/clip_model.h"
#include "text/clip_tokenizer.h"

namespace mms::models {

struct ClipOptions {
  media::ImagePipeline image_pipeline = media::ImagePipeline::kHuggingFace;
  media::DecodeLimits decode_limits;  // per image
  // Pixels of all the images of one request together (each decoded image's width x
  // height): decoding costs CPU time in proportion, whatever each image's own limit.
  uint64_t max_request_pixels = 200'000'000;
  int threads = 0;  // cores one forward pass uses; 0 = OpenMP's default (all)
  Precision precision = Precision::kFp32;  // of the encoders' matrix products
};

// Row-major [count, dim] float32 embeddings.
struct Embeddings {
  int64_t count = 0;
  int64_t dim = 0;
  std::vector<float> values;
  const float* row(int64_t i) const { return values.data() + i * dim; }
  std::vector<float> RowVector(int64_t i) const { return {row(i), row(i) + dim}; }
};

struct LabelScore {
  std::string text;
  float score;
};

class ClipPipeline {
 public:
  static std::unique_ptr<ClipPipeline> Load(const std::string& checkpoint_dir, const ClipOptions& options = {});

  const ClipModel& model() const { return *model_; }
  const text::ClipTokenizer& tokenizer() const { return *tokenizer_; }
  const ClipOptions& options() const { return options_; }
  int64_t image_floats() const;  // 3 · crop_height · crop_width

  std::vector<int32_t> Tokenize(std::string_view text) const;
  // Decodes and preprocesses one encoded image into normalized CHW floats.
  std::vector<float> PreprocessImage(std::string_view encoded) const;
  // The same, counting the image's pixels against what its request has left (a budget that
  // starts at options.max_request_pixels; several threads may decode a request's images at
  // once): over it, Error(kTooLarge) before the image is decoded.
  std::vector<float> PreprocessImage(std::string_view encoded, media::PixelBudget* request_budget) const;

  // Encoders over a batch. Thread-safe: concurrent callers are served one batch at a time
  // (a model instance uses every core it is given for one batch).
  Embeddings EncodeImages(const std::vector<std::vector<float>>& pixels) const;
  Embeddings EncodeTexts(const std::vector<std::vector<int32_t>>& ids) const;

  Embeddings EmbedImages(const std::vector<std::string_view>& encoded_images) const;
  Embeddings EmbedTexts(const std::vector<std::string>& texts) const;

  // Zero-shot classification: softmax over the texts of logit_scale · cosine similarity,
  // sorted by score, highest first.
  std::vector<LabelScore> Classify(std::string_view encoded_image, const std::vector<std::string>& texts) const;

 private:
  ClipPipeline() = default;
  void UseComputeThreads() const;
  ClipOptions options_;
  std::unique_ptr<ClipModel> model_;
  std::unique_ptr<text::ClipTokenizer> tokenizer_;  // no default state: set in Load
  media::PreprocessConfig preprocess_;
  mutable std::mutex forward_mutex_;
  mutable Workspace workspace_;
};

}  // namespace mms::models
