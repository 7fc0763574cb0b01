// The CLIP forward pass against embeddings computed by OpenAI's CLIP code on the same
// checkpoint. Inputs are the golden preprocessed pixels and token ids, so this checks the
// engine alone; preprocessing and tokenization have their own golden tests.
#include <gtest/gtest.h>

#include <cmath>

#include "models/clip/clip_model.h"
#include "test_support.h"

namespace mms::models {
namespace {

using testing::ClipGolden;
using testing::CosineSimilarity;

const ClipModel& TinyClip() {
  static const std::unique_ptr<ClipModel> model = ClipModel::Load(testing::TinyClipDir());
  return *model;
}

std::string NpyName(const std::string& file) {  // "images/chelsea.png" -> "chelsea_png.npy"
  std::string base = file.substr(file.rfind('/') + 1);
  base[base.rfind('.')] = '_';
  return base + ".npy";
}

TEST(ClipModelTest, ConfigFromFile) {
  const auto& c = TinyClip().config();
  EXPECT_EQ(c.vision.hidden_size, 64);
  EXPECT_EQ(c.vision.num_layers, 2);
  EXPECT_EQ(c.vision.num_patches(), 49);
  EXPECT_EQ(c.text.max_positions, 77);
  EXPECT_EQ(c.projection_dim, 32);
  EXPECT_NEAR(TinyClip().logit_scale(), ClipGolden()["logit_scale_exp"].get<double>(), 1e-3);
}

TEST(ClipModelTest, ImageEmbeddingsMatchReferenceBothPipelines) {
  Workspace ws;
  for (const auto& image : ClipGolden()["images"]) {
    for (const std::string pipeline : {"hf", "openai"}) {
      std::vector<long> shape;
      const auto pixels = testing::LoadNpyFloat32(
          testing::SourcePath("tests/data/clip-reference/pixels_" + pipeline + "/" + NpyName(image["file"])), &shape);
      ASSERT_EQ(shape, (std::vector<long>{3, 224, 224}));
      std::vector<float> embed(32);
      TinyClip().EncodeImages(pixels.data(), 1, embed.data(), ws);
      const auto expected = image[pipeline]["embedding"].get<std::vector<float>>();
      EXPECT_GE(CosineSimilarity(embed, expected), 0.9999) << image["file"] << " " << pipeline;
    }
  }
}

TEST(ClipModelTest, TextEmbeddingsMatchReferenceInOneBatch) {
  // All golden texts in one batch of mixed lengths: padding must not leak into results.
  std::vector<std::vector<int32_t>> ids;
  for (const auto& t : ClipGolden()["texts"]) ids.push_back(t["ids"].get<std::vector<int32_t>>());
  std::vector<float> embeds(ids.size() * 32);
  Workspace ws;
  TinyClip().EncodeTexts(ids, embeds.data(), ws);
  size_t i = 0;
  for (const auto& t : ClipGolden()["texts"]) {
    const std::vector<float> got(embeds.begin() + i * 32, embeds.begin() + (i + 1) * 32);
    EXPECT_GE(CosineSimilarity(got, t["embedding"].get<std::vector<float>>()), 0.9999) << t["name"];
    ++i;
  }
}

TEST(ClipModelTest, BatchedImagesEqualSingleImages) {
  std::vector<float> batch;
  std::vector<std::vector<float>> singles;
  Workspace ws;
  for (const char* name : {"astronaut_png.npy", "coffee_png.npy", "camera_png.npy"}) {
    const auto px = testing::LoadNpyFloat32(testing::SourcePath(std::string("tests/data/clip-reference/pixels_hf/") + name));
    batch.insert(batch.end(), px.begin(), px.end());
    std::vector<float> e(32);
    TinyClip().EncodeImages(px.data(), 1, e.data(), ws);
    singles.push_back(e);
  }
  std::vector<float> out(3 * 32);
  TinyClip().EncodeImages(batch.data(), 3, out.data(), ws);
  for (int b = 0; b < 3; ++b) {
    for (int j = 0; j < 32; ++j) EXPECT_NEAR(out[b * 32 + j], singles[b][j], 1e-4);
  }
}

TEST(ClipModelTest, RejectsOutOfRangeTokens) {
  Workspace ws;
  std::vector<float> out(32);
  EXPECT_THROW(TinyClip().EncodeTexts({{49406, 60000, 49407}}, out.data(), ws), std::exception);
  EXPECT_THROW(TinyClip().EncodeTexts({std::vector<int32_t>(78, 320)}, out.data(), ws), std::exception);
}

}  // namespace
}  // namespace mms::models
