#include "models/clip/clip_pipeline.h"

#include <algorithm>
#include <omp.h>

#include "base/error.h"
#include "models/clip/clip_scoring.h"

namespace mms::models {

std::unique_ptr<ClipPipeline> ClipPipeline::Load(const std::string& dir, const ClipOptions& options) {
  std::unique_ptr<ClipPipeline> p(new ClipPipeline());
  p->options_ = options;
  p->model_ = ClipModel::Load(dir, options.precision);
  p->tokenizer_ = std::make_unique<text::ClipTokenizer>(text::ClipTokenizer::FromDirectory(dir));
  p->preprocess_ = media::PreprocessConfig::FromFile(dir + "/preprocessor_config.json");
  const auto& v = p->model_->config().vision;
  if (p->preprocess_.crop_height != v.image_size || p->preprocess_.crop_width != v.image_size) {
    ThrowInvalidModel(dir + "/preprocessor_config.json: crop size " + std::to_string(p->preprocess_.crop_height) + "x" +
                      std::to_string(p->preprocess_.crop_width) + " does not match the model's image_size " +
                      std::to_string(v.image_size));
  }
  // Every request's image is resized to this edge before the crop: a file asking for a
  // huge one would make each request cost gigabytes. CLIP resizes to the crop size itself.
  if (p->preprocess_.do_resize && p->preprocess_.shortest_edge > 4 * v.image_size) {
    ThrowInvalidModel(dir + "/preprocessor_config.json: field \"size\" (shortest_edge) is " +
                      std::to_string(p->preprocess_.shortest_edge) + ", over 4 x the model's image_size " +
                      std::to_string(v.image_size));
  }
  if (static_cast<int64_t>(p->tokenizer_->vocab_size()) > p->model_->config().text.vocab_size) {
    ThrowInvalidModel(dir + "/vocab.json: " + std::to_string(p->tokenizer_->vocab_size()) +
                      " tokens but the text model has vocab_size " + std::to_string(p->model_->config().text.vocab_size));
  }
  return p;
}

int64_t ClipPipeline::image_floats() const { return 3LL * preprocess_.crop_height * preprocess_.crop_width; }

std::vector<int32_t> ClipPipeline::Tokenize(std::string_view text) const {
  return tokenizer_->Encode(text, model_->config().text.max_positions);
}

std::vector<float> ClipPipeline::PreprocessImage(std::string_view encoded) const {
  return PreprocessImage(encoded, nullptr);
}

std::vector<float> ClipPipeline::PreprocessImage(std::string_view encoded, media::PixelBudget* request_budget) const {
  const media::Image image = media::DecodeImageWithinRequest(encoded, options_.decode_limits, request_budget);
  std::vector<float> pixels(image_floats());
  media::PreprocessImage(image, preprocess_, options_.image_pipeline, pixels.data());
  return pixels;
}

// OpenMP's thread count is a per-thread setting, and forward passes run on whichever
// server thread took the request, so it is set where the work starts.
void ClipPipeline::UseComputeThreads() const {
  if (options_.threads > 0) omp_set_num_threads(options_.threads);
}

Embeddings ClipPipeline::EncodeImages(const std::vector<std::vector<float>>& pixels) const {
  Embeddings out;
  out.count = static_cast<int64_t>(pixels.size());
  out.dim = model_->embed_dim();
  out.values.resize(out.count * out.dim);
  std::vector<float> batch;
  batch.reserve(pixels.size() * image_floats());
  for (const auto& p : pixels) {
    if (static_cast<int64_t>(p.size()) != image_floats()) ThrowInternal("image tensor of the wrong size");
    batch.insert(batch.end(), p.begin(), p.end());
  }
  std::lock_guard<std::mutex> lock(forward_mutex_);
  UseComputeThreads();
  model_->EncodeImages(batch.data(), out.count, out.values.data(), workspace_);
  return out;
}

Embeddings ClipPipeline::EncodeTexts(const std::vector<std::vector<int32_t>>& ids) const {
  Embeddings out;
  out.count = static_cast<int64_t>(ids.size());
  out.dim = model_->embed_dim();
  out.values.resize(out.count * out.dim);
  std::lock_guard<std::mutex> lock(forward_mutex_);
  UseComputeThreads();
  model_->EncodeTexts(ids, out.values.data(), workspace_);
  return out;
}

Embeddings ClipPipeline::EmbedImages(const std::vector<std::string_view>& encoded_images) const {
  std::vector<std::vector<float>> pixels;
  pixels.reserve(encoded_images.size());
  for (auto bytes : encoded_images) pixels.push_back(PreprocessImage(bytes));
  return EncodeImages(pixels);
}

Embeddings ClipPipeline::EmbedTexts(const std::vector<std::string>& texts) const {
  std::vector<std::vector<int32_t>> ids;
  ids.reserve(texts.size());
  for (const auto& t : texts) ids.push_back(Tokenize(t));
  return EncodeTexts(ids);
}

std::vector<LabelScore> ClipPipeline::Classify(std::string_view encoded_image, const std::vector<std::string>& texts) const {
  if (texts.empty()) ThrowInvalidArgument("at least one text is needed to classify an image");
  const Embeddings image = EmbedImages({encoded_image});
  const Embeddings text = EmbedTexts(texts);
  const auto probs = Softmax(ClipLogits(image.row(0), text.values.data(), text.count, text.dim, model_->logit_scale()));
  std::vector<LabelScore> scores;
  for (size_t i = 0; i < texts.size(); ++i) scores.push_back({texts[i], probs[i]});
  std::stable_sort(scores.begin(), scores.end(), [](const LabelScore& a, const LabelScore& b) { return a.score > b.score; });
  return scores;
}

}  // namespace mms::models
