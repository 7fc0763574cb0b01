// Transparency composited on white and LLaVA's pad-to-square, against Pillow's own output
// (tests/data/vision_image, written by make_vision_image_golden.py with Debian's
// python3-pil: transformers' convert_to_rgb and the original LLaVA's expand2square).
#include <gtest/gtest.h>

#include "base/error.h"
#include "base/file_util.h"
#include "media/image_decoder.h"
#include "media/vision_image.h"
#include "test_support.h"

namespace mms::media {
namespace {

std::string Data(const std::string& name) {
  return ReadFileBytes(mms::testing::SourcePath("tests/data/vision_image/" + name));
}

void ExpectPixels(const Image& got, const std::string& expected_file, int width, int height) {
  ASSERT_EQ(got.mode, ImageMode::kRGB);
  ASSERT_EQ(got.width, width);
  ASSERT_EQ(got.height, height);
  const std::string want = Data(expected_file);
  ASSERT_EQ(got.pixels.size(), want.size());
  size_t differing = 0;
  for (size_t i = 0; i < want.size(); ++i) differing += got.pixels[i] != static_cast<uint8_t>(want[i]);
  EXPECT_EQ(differing, 0u) << expected_file;
}

TEST(VisionImageTest, TransparencyIsCompositedOnWhiteAsPillowDoes) {
  struct Case {
    const char* name;
    ImageMode mode;
  };
  for (const Case c : {Case{"rgba", ImageMode::kRGBA}, Case{"la", ImageMode::kLA}, Case{"palette_alpha", ImageMode::kP}}) {
    const Image image = DecodeImage(Data(std::string(c.name) + ".png"));
    ASSERT_EQ(image.mode, c.mode) << c.name;
    ExpectPixels(CompositeOnWhite(image), std::string(c.name) + ".rgb", image.width, image.height);
  }
}

TEST(VisionImageTest, OpaqueImagesAreOnlyConvertedToRgb) {
  const Image rgb = DecodeImage(Data("pad_wide.png"));
  const Image out = CompositeOnWhite(rgb);
  EXPECT_EQ(out.pixels, rgb.pixels);
}

TEST(VisionImageTest, PadToSquareCentresOnTheMeanColour) {
  const std::array<uint8_t, 3> mean_fill = {122, 116, 104};  // int(CLIP mean * 255)
  const Image wide = DecodeImage(Data("pad_wide.png"));
  ExpectPixels(PadToSquare(wide, mean_fill), "pad_wide.rgb", 37, 37);
  const Image tall = DecodeImage(Data("pad_tall.png"));
  ExpectPixels(PadToSquare(tall, mean_fill), "pad_tall.rgb", 31, 31);
  const Image square = PadToSquare(PadToSquare(tall, mean_fill), {0, 0, 0});
  EXPECT_EQ(square.width, 31);
  EXPECT_THROW(PadToSquare(Image(ImageMode::kL, 3, 2), mean_fill), Error);
}

}  // namespace
}  // namespace mms::media
