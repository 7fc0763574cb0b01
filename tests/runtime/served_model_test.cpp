// ServedModel under concurrency: the image and text towers run on their own batcher
// threads at the same time, so every result must equal the one computed alone.
#include "runtime/clip_served_model.h"

#include <gtest/gtest.h>

#include <thread>

#include "base/file_util.h"
#include "test_support.h"

namespace mms::runtime {
namespace {

std::shared_ptr<ClipServedModel> LoadDemo() {
  io::ModelConfig config;
  config.name = "clip";
  config.max_batch_size = 8;
  ServingDefaults defaults;
  defaults.clip.threads = 1;
  return ClipServedModel::Load("clip", 1, testing::TinyClipDir(), config, defaults);
}

TEST(ServedModelTest, ConcurrentImageAndTextRequestsGiveTheSerialResults) {
  auto model = LoadDemo();
  const std::string image = ReadFileBytes(testing::SourcePath("tests/data/clip-reference/images/astronaut.png"));
  const std::vector<std::string> texts = {"a photo of an astronaut", "a photo of a cat", "a rocket on a launch pad"};
  const auto image_alone = model->EmbedImages({image}).values;
  const auto texts_alone = model->EmbedTexts(texts).values;

  constexpr int kRounds = 30;
  int image_mismatches = 0, text_mismatches = 0;
  std::thread image_thread([&] {
    for (int i = 0; i < kRounds; ++i) image_mismatches += model->EmbedImages({image}).values != image_alone;
  });
  std::thread text_thread([&] {
    for (int i = 0; i < kRounds; ++i) text_mismatches += model->EmbedTexts(texts).values != texts_alone;
  });
  image_thread.join();
  text_thread.join();
  EXPECT_EQ(image_mismatches, 0);
  EXPECT_EQ(text_mismatches, 0);
}

// One request with both halves queues them together, as /predict and KServe do.
TEST(ServedModelTest, JointRequestsGiveTheSerialResults) {
  auto model = LoadDemo();
  const std::string image = ReadFileBytes(testing::SourcePath("tests/data/clip-reference/images/astronaut.png"));
  const std::vector<std::string> texts = {"a photo of an astronaut", "a photo of a cat", "a rocket on a launch pad"};
  const auto image_alone = model->EmbedImages({image}).values;
  const auto texts_alone = model->EmbedTexts(texts).values;
  int mismatches = 0;
  for (int i = 0; i < 30; ++i) {
    const auto joint = model->EmbedBoth({image}, texts);
    mismatches += joint.images.values != image_alone || joint.texts.values != texts_alone;
  }
  EXPECT_EQ(mismatches, 0);
}

}  // namespace
}  // namespace mms::runtime
