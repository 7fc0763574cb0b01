#include "runtime/image_feature_encoder.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <future>

#include "base/error.h"
#include "base/worker_pool.h"
#include "layers/workspace.h"
#include "media/vision_image.h"
#include "models/image_encoder.h"

namespace mms::runtime {

namespace {

uint64_t FirstWord(const CacheDigest& d) {
  uint64_t v = 0;
  std::memcpy(&v, d.data(), sizeof(v));
  return v;
}

}  // namespace

ImageFeatureEncoder::ImageFeatureEncoder(const std::string& name, const models::ImageEncoder& encoder,
                                         ImageFeatureOptions options)
    : encoder_(encoder), options_(std::move(options)) {
  const auto& p = options_.preprocess;
  if (p.crop_height != encoder.image_size() || p.crop_width != encoder.image_size()) {
    ThrowInvalidModel("preprocessor_config.json crops to " + std::to_string(p.crop_width) + "x" +
                      std::to_string(p.crop_height) + " but the vision tower takes " +
                      std::to_string(encoder.image_size()) + "x" + std::to_string(encoder.image_size()));
  }
  // The original LLaVA fills with tuple(int(x * 255) for x in image_mean).
  for (int c = 0; c < 3; ++c) pad_fill_[c] = static_cast<uint8_t>(std::clamp(p.mean[c] * 255.0, 0.0, 255.0));
  feature_floats_ = static_cast<size_t>(encoder.positions_per_image() * encoder.feature_size());
  options_.batcher.instance_count = std::max(options_.batcher.instance_count, 1);
  for (int i = 0; i < options_.batcher.instance_count; ++i) workspaces_.push_back(std::make_unique<Workspace>());
  const size_t pixel_floats = static_cast<size_t>(3 * encoder.image_size() * encoder.image_size());
  if (options_.decode_threads > 1) decode_pool_ = std::make_unique<WorkerPool>(std::min(options_.decode_threads, 16));
  batcher_ = std::make_unique<DynamicBatcher<Pixels, Features>>(
      name + " image encoder", options_.batcher,
      [this, pixel_floats](std::vector<Pixels>& batch, int instance) {
        const int64_t n = static_cast<int64_t>(batch.size());
        std::vector<float> stacked(n * pixel_floats);
        for (int64_t b = 0; b < n; ++b) std::memcpy(stacked.data() + b * pixel_floats, batch[b]->data(), pixel_floats * 4);
        std::vector<float> out(n * feature_floats_);
        encoder_.EncodeImages(stacked.data(), n, out.data(), *workspaces_[instance]);
        std::vector<Features> results;
        for (int64_t b = 0; b < n; ++b) {
          results.push_back(std::make_shared<const std::vector<float>>(out.begin() + b * feature_floats_,
                                                                       out.begin() + (b + 1) * feature_floats_));
        }
        encoded_ += static_cast<uint64_t>(n);
        return results;
      });
}

ImageFeatureEncoder::~ImageFeatureEncoder() { Shutdown(std::chrono::milliseconds(0)); }

std::vector<float> ImageFeatureEncoder::Preprocess(const std::string& bytes, media::PixelBudget* request_budget) const {
  const media::Image image = media::DecodeImageWithinRequest(bytes, options_.decode_limits, request_budget);
  media::Image rgb = media::CompositeOnWhite(image);
  if (options_.pad_to_square) rgb = media::PadToSquare(rgb, pad_fill_);
  std::vector<float> pixels(static_cast<size_t>(3 * encoder_.image_size() * encoder_.image_size()));
  media::PreprocessImage(rgb, options_.preprocess, media::ImagePipeline::kHuggingFace, pixels.data());
  return pixels;
}

std::vector<ImageFeatures> ImageFeatureEncoder::Encode(const std::vector<std::string>& images,
                                                       const std::vector<std::string>& where) {
  const size_t n = images.size();
  std::vector<ImageFeatures> out(n);
  if (n == 0) return out;
  images_ += n;
  std::vector<CacheDigest> keys(n);
  for (size_t i = 0; i < n; ++i) {
    keys[i] = ImageCacheKey(options_.cache_key, images[i]);
    out[i].content_hash = FirstWord(keys[i]);
  }
  std::vector<bool> have(n, false);
  if (options_.cache) {
    EmbeddingCache::Lookup found = options_.cache->GetMany(keys, feature_floats_);
    for (size_t i = 0; i < n; ++i) {
      if (!found.values[i]) continue;
      out[i].values = std::make_shared<const std::vector<float>>(std::move(*found.values[i]));
      out[i].cached = have[i] = true;
      ++cache_hits_;
    }
  }
  // Preprocess every miss first, so a bad image fails the request before anything queues;
  // several at once on decode_pool_ where there is one.
  media::PixelBudget budget(options_.max_request_pixels);
  std::vector<size_t> missing;
  for (size_t i = 0; i < n; ++i) {
    if (!have[i]) missing.push_back(i);
  }
  if (missing.empty()) return out;
  auto prepare = [&](size_t i) {
    try {
      return std::make_shared<const std::vector<float>>(Preprocess(images[i], &budget));
    } catch (const Error& e) {
      throw Error(e.code(), (i < where.size() ? where[i] : "image " + std::to_string(i)) + ": " + e.what());
    }
  };
  std::vector<Pixels> pixels;
  pixels.reserve(missing.size());
  if (!decode_pool_ || missing.size() < 2) {
    for (size_t i : missing) pixels.push_back(prepare(i));
  } else {
    std::vector<std::future<Pixels>> prepared;
    for (size_t i : missing) prepared.push_back(decode_pool_->Submit([&prepare, i] { return prepare(i); }));
    for (auto& f : prepared) f.wait();  // every task ends before this returns or throws: they read the request
    for (auto& f : prepared) pixels.push_back(f.get());  // the first failed image's error, in request order
  }
  std::vector<std::future<Features>> futures = batcher_->SubmitMany(std::move(pixels));
  std::exception_ptr first_error;
  std::vector<CacheDigest> new_keys;
  std::vector<std::span<const float>> new_values;
  for (size_t k = 0; k < futures.size(); ++k) {
    try {
      out[missing[k]].values = futures[k].get();
      new_keys.push_back(keys[missing[k]]);
      new_values.emplace_back(*out[missing[k]].values);
    } catch (...) {
      if (!first_error) first_error = std::current_exception();
    }
  }
  if (options_.cache && !new_keys.empty()) options_.cache->PutMany(new_keys, new_values);
  if (first_error) std::rethrow_exception(first_error);
  return out;
}

ImageFeatureStats ImageFeatureEncoder::Stats() const {
  ImageFeatureStats s;
  s.images = images_;
  s.cache_hits = cache_hits_;
  s.encoded = encoded_;
  s.batcher = batcher_->Stats();
  return s;
}

void ImageFeatureEncoder::Shutdown(std::chrono::milliseconds deadline) {
  if (batcher_) batcher_->Shutdown(deadline);
}

}  // namespace mms::runtime
