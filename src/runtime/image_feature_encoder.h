// The image half of a vision-language model being served: encoded image files in, the
// embeddings that replace the prompt's image positions out.
//
//   request thread: decode -> composite on white -> [pad to square] -> CLIP preprocessing
//                   -> look up the feature cache (memory, then Redis)
//   image batcher:  the misses of concurrent requests encoded together (one vision tower
//                   + projector pass per batch), then stored in the cache
//
// Decoding and preprocessing run on the request's own thread, so a bad or oversized image
// fails its request before it queues and the batcher's instances only run the towers.
// Features are keyed by the image file's bytes (and the model, weights and precision), so
// the second turn of a conversation about the same image encodes nothing; the same digest
// salts the prefix cache so that the prefilled conversation is reused too.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "media/clip_preprocess.h"
#include "media/image_decoder.h"
#include "runtime/dynamic_batcher.h"
#include "runtime/embedding_cache.h"

namespace mms {
class Workspace;
class WorkerPool;
}
namespace mms::models {
class ImageEncoder;
}

namespace mms::runtime {

struct ImageFeatureOptions {
  media::PreprocessConfig preprocess;  // the checkpoint's preprocessor_config.json
  media::DecodeLimits decode_limits;
  uint64_t max_request_pixels = 200'000'000;  // all images of one request together
  bool pad_to_square = false;                 // the original LLaVA's expand2square
  int decode_threads = 1;                     // threads decoding one request's images at once
  BatcherConfig batcher;
  std::shared_ptr<EmbeddingCache> cache;      // null: no caching
  CacheKeyContext cache_key;
};

// One image's features: positions_per_image x feature_size floats.
struct ImageFeatures {
  std::shared_ptr<const std::vector<float>> values;
  uint64_t content_hash = 0;  // from the image file's bytes; salts prefix-cache keys
  bool cached = false;        // answered from the cache
};

struct ImageFeatureStats {
  uint64_t images = 0, cache_hits = 0, encoded = 0;
  BatcherStats batcher;
};

class ImageFeatureEncoder {
 public:
  // `encoder` must outlive this object.
  ImageFeatureEncoder(const std::string& name, const models::ImageEncoder& encoder, ImageFeatureOptions options);
  ~ImageFeatureEncoder();

  // Features for each image, in order. `where[i]` names image i in errors ("messages[0]
  // .content[1]"). Errors: kUnsupportedMedia (not an image), kTooLarge (bytes, pixels),
  // kUnavailable (queue full, shutting down), kDeadlineExceeded (timed out in the queue).
  std::vector<ImageFeatures> Encode(const std::vector<std::string>& images, const std::vector<std::string>& where);

  // The pixels the tower receives for one image: [3, size, size].
  std::vector<float> Preprocess(const std::string& image, media::PixelBudget* request_budget) const;

  ImageFeatureStats Stats() const;
  void Shutdown(std::chrono::milliseconds deadline);

 private:
  using Pixels = std::shared_ptr<const std::vector<float>>;
  using Features = std::shared_ptr<const std::vector<float>>;

  const models::ImageEncoder& encoder_;
  ImageFeatureOptions options_;
  std::array<uint8_t, 3> pad_fill_{};
  size_t feature_floats_ = 0;
  std::vector<std::unique_ptr<Workspace>> workspaces_;  // one per batcher instance
  std::unique_ptr<DynamicBatcher<Pixels, Features>> batcher_;
  std::unique_ptr<WorkerPool> decode_pool_;  // null with one decode thread
  std::atomic<uint64_t> images_{0}, cache_hits_{0}, encoded_{0};
};

}  // namespace mms::runtime
