// PreprocessConfig parsing and the pipelines' geometry and mode handling on synthetic
// images (the reference images are in clip_golden_test.cpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <tuple>
#include <string>
#include <vector>

#include "media/clip_preprocess.h"
#include "media_test_util.h"
#include "test_support.h"

namespace mms::media {
namespace {

using nlohmann::json;
using testing::ErrorCodeOf;

// ---- PreprocessConfig ----

TEST(PreprocessConfig, CheckpointFile) {
  const auto config = PreprocessConfig::FromFile(mms::testing::SourcePath("model_repository/clip/1/preprocessor_config.json"));
  EXPECT_EQ(config.shortest_edge, 224);
  EXPECT_EQ(config.crop_height, 224);
  EXPECT_EQ(config.crop_width, 224);
  EXPECT_TRUE(config.do_resize && config.do_center_crop && config.do_rescale && config.do_normalize && config.do_convert_rgb);
  EXPECT_EQ(config.rescale_factor, 1.0f / 255);
  EXPECT_EQ(config.mean[0], 0.48145466f);
  EXPECT_EQ(config.mean[2], 0.40821073f);
  EXPECT_EQ(config.std[1], 0.26130258f);
}

TEST(PreprocessConfig, OldForm) {
  const auto config = PreprocessConfig::FromJson(json::parse(R"({"size": 256, "crop_size": 240, "do_center_crop": false})"));
  EXPECT_EQ(config.shortest_edge, 256);
  EXPECT_EQ(config.crop_height, 240);
  EXPECT_EQ(config.crop_width, 240);
  EXPECT_FALSE(config.do_center_crop);
}

TEST(PreprocessConfig, NewForm) {
  const auto config = PreprocessConfig::FromJson(json::parse(R"({
      "size": {"shortest_edge": 336}, "crop_size": {"height": 336, "width": 300},
      "image_mean": [0.5, 0.5, 0.5], "image_std": [0.25, 0.5, 1], "rescale_factor": 0.5,
      "do_rescale": false, "do_normalize": false, "resample": 3})"));
  EXPECT_EQ(config.shortest_edge, 336);
  EXPECT_EQ(config.crop_height, 336);
  EXPECT_EQ(config.crop_width, 300);
  EXPECT_EQ(config.mean[1], 0.5f);
  EXPECT_EQ(config.std[0], 0.25f);
  EXPECT_EQ(config.std[2], 1.0f);
  EXPECT_EQ(config.rescale_factor, 0.5f);
  EXPECT_FALSE(config.do_rescale);
  EXPECT_FALSE(config.do_normalize);
}

TEST(PreprocessConfig, MissingFieldsKeepClipDefaults) {
  const auto config = PreprocessConfig::FromJson(json::object());
  EXPECT_EQ(config.shortest_edge, 224);
  EXPECT_EQ(config.crop_width, 224);
  EXPECT_EQ(config.mean[0], 0.48145466f);
  EXPECT_EQ(config.std[2], 0.27577711f);
}

TEST(PreprocessConfig, BadFieldsAreInvalidModelNamingTheField) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"image_mean": [0.5, 0.5]})", "image_mean"},
      {R"({"image_std": "0.5"})", "image_std"},
      {R"({"image_std": [0.5, 0, 0.5]})", "image_std"},
      {R"({"do_resize": "yes"})", "do_resize"},
      {R"({"do_normalize": 1})", "do_normalize"},
      {R"({"size": "224"})", "size"},
      {R"({"size": -5})", "size"},
      {R"({"size": 224.5})", "size"},
      {R"({"size": {"shortest_edge": "224"}})", "size.shortest_edge"},
      {R"({"size": {"height": 224, "width": 224}})", "size"},
      {R"({"crop_size": {"height": 224}})", "crop_size"},
      {R"({"crop_size": {"height": 224, "width": 0}})", "crop_size.width"},
      {R"({"rescale_factor": "1/255"})", "rescale_factor"},
      {R"({"resample": 2})", "resample"},
  };
  for (const auto& [text, field] : cases) {
    std::string message;
    EXPECT_EQ(ErrorCodeOf([&] { PreprocessConfig::FromJson(json::parse(text)); }, &message), ErrorCode::kInvalidModel) << text;
    EXPECT_NE(message.find("'" + field + "'"), std::string::npos) << text << " -> " << message;
  }
  EXPECT_EQ(ErrorCodeOf([] { PreprocessConfig::FromJson(json::array()); }), ErrorCode::kInvalidModel);
}

TEST(PreprocessConfig, FileErrors) {
  EXPECT_EQ(ErrorCodeOf([] { PreprocessConfig::FromFile("/nonexistent/preprocessor_config.json"); }), ErrorCode::kNotFound);
  const std::string path = ::testing::TempDir() + "/mms_media_bad_preprocessor_config.json";
  std::ofstream(path) << "{ not json";
  std::string message;
  EXPECT_EQ(ErrorCodeOf([&] { PreprocessConfig::FromFile(path); }, &message), ErrorCode::kInvalidModel);
  EXPECT_NE(message.find(path), std::string::npos) << message;
  std::ofstream(path, std::ios::trunc) << R"({"crop_size": []})";
  EXPECT_EQ(ErrorCodeOf([&] { PreprocessConfig::FromFile(path); }, &message), ErrorCode::kInvalidModel);
  EXPECT_NE(message.find(path), std::string::npos) << message;
  std::remove(path.c_str());
}

TEST(ImagePipelineName, Parses) {
  EXPECT_EQ(ParseImagePipeline("hf"), ImagePipeline::kHuggingFace);
  EXPECT_EQ(ParseImagePipeline("openai"), ImagePipeline::kOpenAI);
  EXPECT_EQ(ErrorCodeOf([] { ParseImagePipeline("torch"); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(ErrorCodeOf([] { ParseImagePipeline(""); }), ErrorCode::kInvalidArgument);
}

// ---- Pipelines ----

// No rescale/normalize: the output is the 8-bit pixel values, easy to reason about.
PreprocessConfig RawConfig(int shortest_edge = 224, int crop = 224) {
  PreprocessConfig config;
  config.shortest_edge = shortest_edge;
  config.crop_height = config.crop_width = crop;
  config.do_rescale = config.do_normalize = false;
  return config;
}

std::vector<float> Preprocess(const Image& image, const PreprocessConfig& config, ImagePipeline pipeline) {
  std::vector<float> out(3 * static_cast<size_t>(config.crop_height) * config.crop_width, -1.0f);
  PreprocessImage(image, config, pipeline, out.data());
  return out;
}

// Output value of channel c at (x, y).
float At(const std::vector<float>& out, const PreprocessConfig& config, int c, int x, int y) {
  return out[(static_cast<size_t>(c) * config.crop_height + y) * config.crop_width + x];
}

// An RGB image whose red channel is the column index (mod 256) and green the row index.
Image CoordinateImage(int width, int height) {
  Image image(ImageMode::kRGB, width, height);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      uint8_t* p = image.Row(y) + 3 * x;
      p[0] = static_cast<uint8_t>(x);
      p[1] = static_cast<uint8_t>(y);
      p[2] = 7;
    }
  }
  return image;
}

// Excess 3: hf crops at 3 // 2 = 1, openai at round(1.5) = 2; excess 5: both 2 (round(2.5)
// is 2); excess 1: both 0 (round(0.5) is 0). No resize happens (the short side is 224).
TEST(ClipPreprocess, CropOffsetsFloorVersusRoundHalfEven) {
  const PreprocessConfig config = RawConfig();
  for (const auto& [width, hf_left, openai_left] : std::vector<std::tuple<int, int, int>>{{227, 1, 2}, {229, 2, 2}, {225, 0, 0}, {231, 3, 4}}) {
    const Image image = CoordinateImage(width, 224);
    EXPECT_EQ(At(Preprocess(image, config, ImagePipeline::kHuggingFace), config, 0, 0, 0), hf_left) << width;
    EXPECT_EQ(At(Preprocess(image, config, ImagePipeline::kOpenAI), config, 0, 0, 0), openai_left) << width;
    const Image tall = CoordinateImage(224, width);
    EXPECT_EQ(At(Preprocess(tall, config, ImagePipeline::kHuggingFace), config, 1, 0, 0), hf_left) << width;
    EXPECT_EQ(At(Preprocess(tall, config, ImagePipeline::kOpenAI), config, 1, 0, 0), openai_left) << width;
  }
}

// A crop larger than the resized image pads with zeros: transformers centres with
// ceil((crop - size) / 2) of padding first, torchvision with floor.
TEST(ClipPreprocess, CropLargerThanImageIsZeroPadded) {
  const PreprocessConfig config = RawConfig(224, 227);
  const Image image = CoordinateImage(224, 224);
  const auto hf = Preprocess(image, config, ImagePipeline::kHuggingFace);
  const auto openai = Preprocess(image, config, ImagePipeline::kOpenAI);
  EXPECT_EQ(At(hf, config, 2, 1, 1), 0.0f);
  EXPECT_EQ(At(hf, config, 2, 2, 2), 7.0f);   // the image starts at (2, 2)
  EXPECT_EQ(At(hf, config, 0, 3, 2), 1.0f);
  EXPECT_EQ(At(hf, config, 2, 225, 225), 7.0f);
  EXPECT_EQ(At(hf, config, 2, 226, 226), 0.0f);
  EXPECT_EQ(At(openai, config, 2, 0, 0), 0.0f);
  EXPECT_EQ(At(openai, config, 2, 1, 1), 7.0f);  // ... and at (1, 1) for torchvision
  EXPECT_EQ(At(openai, config, 2, 224, 224), 7.0f);
  EXPECT_EQ(At(openai, config, 2, 225, 225), 0.0f);
}

// PIL resizes RGBA premultiplied, so transparent colour turns black in the openai
// pipeline, while hf drops alpha before resizing. Without a resize PIL does not
// premultiply at all.
TEST(ClipPreprocess, TransparentPixelsInBothPipelines) {
  const PreprocessConfig config = RawConfig();
  for (int size : {2, 224}) {
    Image image(ImageMode::kRGBA, size, size);
    for (size_t i = 0; i < image.pixels.size(); i += 4) image.pixels[i] = 255;  // red, alpha 0
    const auto hf = Preprocess(image, config, ImagePipeline::kHuggingFace);
    const auto openai = Preprocess(image, config, ImagePipeline::kOpenAI);
    EXPECT_EQ(At(hf, config, 0, 100, 100), 255.0f) << size;
    EXPECT_EQ(At(openai, config, 0, 100, 100), size == 224 ? 255.0f : 0.0f) << size;
  }
  Image gray_alpha(ImageMode::kLA, 3, 3);  // LA goes through La the same way
  for (size_t i = 0; i < gray_alpha.pixels.size(); i += 2) gray_alpha.pixels[i] = 200;
  EXPECT_EQ(At(Preprocess(gray_alpha, config, ImagePipeline::kHuggingFace), config, 1, 50, 50), 200.0f);
  EXPECT_EQ(At(Preprocess(gray_alpha, config, ImagePipeline::kOpenAI), config, 1, 50, 50), 0.0f);
}

// 16-bit grayscale resizes at 16 bits, then PIL clamps values above 255 to white.
TEST(ClipPreprocess, Gray16ClampsAfterResizing) {
  const PreprocessConfig config = RawConfig();
  for (const auto& [value, expected] : std::vector<std::pair<int, float>>{{100, 100.0f}, {1000, 255.0f}, {65535, 255.0f}}) {
    Image image(ImageMode::kI16, 30, 20);
    for (size_t i = 0; i < image.pixels.size(); i += 2) {
      image.pixels[i] = static_cast<uint8_t>(value & 0xFF);
      image.pixels[i + 1] = static_cast<uint8_t>(value >> 8);
    }
    for (ImagePipeline pipeline : {ImagePipeline::kHuggingFace, ImagePipeline::kOpenAI}) {
      const auto out = Preprocess(image, config, pipeline);
      EXPECT_EQ(At(out, config, 0, 0, 0), expected) << value;
      EXPECT_EQ(At(out, config, 2, 223, 223), expected) << value;
    }
  }
}

// "P" pads with palette index 0 in the openai pipeline (crop before conversion); hf
// converts first and pads black.
TEST(ClipPreprocess, PalettePaddingUsesIndexZero) {
  const PreprocessConfig config = RawConfig(224, 226);
  Image image(ImageMode::kP, 224, 224);
  image.palette[0] = 10;
  image.palette[1] = 20;
  image.palette[2] = 30;
  std::fill(image.pixels.begin(), image.pixels.end(), 1);
  image.palette[3] = 200;
  const auto hf = Preprocess(image, config, ImagePipeline::kHuggingFace);
  const auto openai = Preprocess(image, config, ImagePipeline::kOpenAI);
  EXPECT_EQ(At(hf, config, 0, 0, 0), 0.0f);
  EXPECT_EQ(At(openai, config, 0, 0, 0), 10.0f);
  EXPECT_EQ(At(openai, config, 2, 0, 0), 30.0f);
  EXPECT_EQ(At(hf, config, 0, 100, 100), 200.0f);
  EXPECT_EQ(At(openai, config, 0, 100, 100), 200.0f);
}

TEST(ClipPreprocess, NormalizationMatchesFloat32Arithmetic) {
  PreprocessConfig config;  // CLIP's constants
  Image image(ImageMode::kRGB, 1, 1);
  image.pixels = {200, 30, 90};
  const auto hf = Preprocess(image, config, ImagePipeline::kHuggingFace);
  const auto openai = Preprocess(image, config, ImagePipeline::kOpenAI);
  for (int c = 0; c < 3; ++c) {
    const float x = static_cast<float>(image.pixels[c] / 255.0);
    EXPECT_EQ(At(hf, config, c, 5, 5), (x - config.mean[c]) / config.std[c]);
    const float y = static_cast<float>(image.pixels[c]) / 255.0f;
    EXPECT_EQ(At(openai, config, c, 5, 5), (y - config.mean[c]) / config.std[c]);
  }
}

TEST(ClipPreprocess, WithoutCenterCropTheResizeMustFit) {
  PreprocessConfig config = RawConfig();
  config.do_center_crop = false;
  EXPECT_EQ(ErrorCodeOf([&] { Preprocess(CoordinateImage(300, 200), config, ImagePipeline::kHuggingFace); }), ErrorCode::kInvalidArgument);
  const auto out = Preprocess(CoordinateImage(448, 448), config, ImagePipeline::kOpenAI);
  EXPECT_NEAR(At(out, config, 0, 223, 0), (446 + 447) / 2 % 256, 1.0f);  // columns 446-447 halved
}

TEST(ClipPreprocess, RejectsEmptyOrInconsistentImages) {
  EXPECT_EQ(ErrorCodeOf([] { Preprocess(Image(), RawConfig(), ImagePipeline::kOpenAI); }), ErrorCode::kInvalidArgument);
  Image no_palette(ImageMode::kP, 4, 4);
  no_palette.palette.clear();
  EXPECT_EQ(ErrorCodeOf([&] { Preprocess(no_palette, RawConfig(), ImagePipeline::kHuggingFace); }), ErrorCode::kInvalidArgument);
  Image short_pixels(ImageMode::kRGB, 4, 4);
  short_pixels.pixels.pop_back();
  EXPECT_EQ(ErrorCodeOf([&] { Preprocess(short_pixels, RawConfig(), ImagePipeline::kOpenAI); }), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace mms::media
