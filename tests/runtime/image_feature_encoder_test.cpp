// The image half of a vision-language model being served (runtime/image_feature_encoder):
// images of concurrent requests encoded in one batch, features found in the cache by the
// image's bytes, bad images refused naming their part before anything queues.
#include "runtime/image_feature_encoder.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "base/error.h"
#include "base/file_util.h"
#include "models/image_encoder.h"
#include "test_support.h"

namespace mms::runtime {
namespace {

// Two positions of three floats per image; each feature is the image's pixel sum, so
// different images give different features. Records the batch sizes it ran.
class FakeEncoder final : public models::ImageEncoder {
 public:
  int32_t image_token_id() const override { return 7; }
  int64_t positions_per_image() const override { return 2; }
  int64_t feature_size() const override { return 3; }
  int64_t image_size() const override { return 8; }
  void EncodeImages(const float* pixels, int64_t n, float* features, Workspace&) const override {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    for (int64_t b = 0; b < n; ++b) {
      double sum = 0;
      for (int64_t i = 0; i < 3 * 8 * 8; ++i) sum += pixels[b * 3 * 8 * 8 + i];
      for (int64_t i = 0; i < 6; ++i) features[b * 6 + i] = static_cast<float>(sum + i);
    }
    std::lock_guard<std::mutex> lock(mutex);
    batches.push_back(static_cast<int>(n));
  }
  mutable std::mutex mutex;
  mutable std::vector<int> batches;
};

ImageFeatureOptions Options(std::shared_ptr<EmbeddingCache> cache = nullptr) {
  ImageFeatureOptions o;
  o.preprocess.shortest_edge = 8;
  o.preprocess.crop_height = o.preprocess.crop_width = 8;
  o.batcher.max_batch_size = 8;
  o.batcher.max_queue_delay = std::chrono::milliseconds(500);  // ample for four threads to arrive, even under a sanitizer
  o.cache = std::move(cache);
  o.cache_key = {"llava", 1, "fp32", "llava", "weights"};
  return o;
}

std::string Png(const std::string& name) {
  return ReadFileBytes(testing::SourcePath("tests/data/vision_image/" + name + ".png"));
}

TEST(ImageFeatureEncoderTest, ConcurrentRequestsShareABatch) {
  FakeEncoder fake;
  ImageFeatureEncoder encoder("test", fake, Options());
  const std::vector<std::string> images = {Png("rgba"), Png("la"), Png("pad_wide"), Png("pad_tall")};
  std::vector<std::vector<ImageFeatures>> got(images.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < images.size(); ++i) {
    threads.emplace_back([&, i] { got[i] = encoder.Encode({images[i]}, {"image " + std::to_string(i)}); });
  }
  for (auto& t : threads) t.join();
  ASSERT_FALSE(fake.batches.empty());
  EXPECT_GT(*std::max_element(fake.batches.begin(), fake.batches.end()), 1) << "every image ran alone";
  // Each request got its own image's features back.
  for (size_t i = 0; i < images.size(); ++i) {
    const auto alone = ImageFeatureEncoder("alone", fake, Options()).Encode({images[i]}, {"x"});
    ASSERT_EQ(got[i].size(), 1u);
    EXPECT_EQ(*got[i][0].values, *alone[0].values) << i;
    EXPECT_FALSE(got[i][0].cached);
  }
  EXPECT_EQ(encoder.Stats().encoded, images.size());
}

TEST(ImageFeatureEncoderTest, TheSameBytesComeFromTheCacheAndSaltAlike) {
  FakeEncoder fake;
  auto cache = std::make_shared<EmbeddingCache>(std::make_unique<MemoryCache>(1 << 20), nullptr);
  ImageFeatureEncoder encoder("test", fake, Options(cache));
  const auto first = encoder.Encode({Png("rgba"), Png("la")}, {"a", "b"});
  const size_t batches = fake.batches.size();
  const auto again = encoder.Encode({Png("la"), Png("rgba")}, {"a", "b"});
  EXPECT_EQ(fake.batches.size(), batches) << "a cached image was encoded again";
  EXPECT_TRUE(again[0].cached && again[1].cached);
  EXPECT_EQ(*again[0].values, *first[1].values);
  EXPECT_EQ(again[1].content_hash, first[0].content_hash);
  EXPECT_NE(first[0].content_hash, first[1].content_hash);
  EXPECT_EQ(encoder.Stats().cache_hits, 2u);
}

TEST(ImageFeatureEncoderTest, BadImagesAreRefusedNamingTheirPartBeforeAnythingRuns) {
  FakeEncoder fake;
  ImageFeatureEncoder encoder("test", fake, Options());
  try {
    encoder.Encode({Png("rgba"), "not an image"}, {"messages[0].content[0]", "messages[0].content[1]"});
    ADD_FAILURE() << "accepted bytes that are no image";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnsupportedMedia);
    EXPECT_EQ(std::string(e.what()).rfind("messages[0].content[1]: ", 0), 0u) << e.what();
  }
  EXPECT_TRUE(fake.batches.empty());
  ImageFeatureOptions tight = Options();
  tight.max_request_pixels = 37 * 23 + 10;  // the first image fits, the second does not
  ImageFeatureEncoder limited("test", fake, tight);
  try {
    limited.Encode({Png("rgba"), Png("la")}, {"a", "b"});
    ADD_FAILURE() << "passed the per-request pixel limit";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kTooLarge) << e.what();
  }
}

// With decode threads a request's images are prepared at once: the same features in the
// same order, the first bad image's error (in request order) naming its part, one budget.
TEST(ImageFeatureEncoderTest, ImagesDecodedOnSeveralThreadsAnswerAsOnOne) {
  FakeEncoder fake;
  ImageFeatureOptions wide = Options();
  wide.decode_threads = 3;
  const std::vector<std::string> images = {Png("rgba"), Png("la"), Png("pad_wide"), Png("pad_tall")};
  const std::vector<std::string> where = {"a", "b", "c", "d"};
  const auto one = ImageFeatureEncoder("one", fake, Options()).Encode(images, where);
  const auto several = ImageFeatureEncoder("several", fake, wide).Encode(images, where);
  ASSERT_EQ(several.size(), images.size());
  for (size_t i = 0; i < images.size(); ++i) EXPECT_EQ(*several[i].values, *one[i].values) << i;

  ImageFeatureEncoder encoder("test", fake, wide);
  try {
    encoder.Encode({Png("rgba"), "not an image", "nor this"}, {"x[0]", "x[1]", "x[2]"});
    ADD_FAILURE() << "accepted bytes that are no image";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnsupportedMedia);
    EXPECT_EQ(std::string(e.what()).rfind("x[1]: ", 0), 0u) << e.what();
  }
  ImageFeatureOptions tight = wide;
  tight.max_request_pixels = 37 * 23 + 10;  // one of the two fits, not both
  try {
    ImageFeatureEncoder("test", fake, tight).Encode({Png("rgba"), Png("la")}, {"a", "b"});
    ADD_FAILURE() << "passed the per-request pixel limit";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kTooLarge) << e.what();
  }
}

TEST(ImageFeatureEncoderTest, APreprocessorCropOtherThanTheTowersIsRefused) {
  FakeEncoder fake;
  ImageFeatureOptions o = Options();
  o.preprocess.crop_height = o.preprocess.crop_width = 16;
  EXPECT_THROW(ImageFeatureEncoder("test", fake, o), Error);
}

TEST(ImageFeatureEncoderTest, PadToSquareChangesTheFeaturesOfANonSquareImage) {
  FakeEncoder fake;
  ImageFeatureOptions padded = Options();
  padded.pad_to_square = true;
  const auto crop = ImageFeatureEncoder("crop", fake, Options()).Encode({Png("pad_wide")}, {"a"});
  const auto pad = ImageFeatureEncoder("pad", fake, padded).Encode({Png("pad_wide")}, {"a"});
  EXPECT_NE(*crop[0].values, *pad[0].values);
}

}  // namespace
}  // namespace mms::runtime
