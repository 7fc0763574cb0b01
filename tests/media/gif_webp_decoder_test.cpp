// GIF and WebP decoding, with test files written by giflib's and libwebp's encoders.
#include <string>
#include <vector>

#include "media/image_decoder.h"
#include "media_test_util.h"

namespace mms::media {
namespace {

using testing::EncodeGif;
using testing::EncodeWebpLossless;
using testing::EncodeWebpLossy;
using testing::ErrorCodeOf;
using testing::GifSpec;
using testing::PixelAt;

const std::vector<uint8_t> kFourColours = {255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255};

GifSpec SmallGif() {
  GifSpec spec;
  spec.screen_width = 5;
  spec.screen_height = 4;
  spec.global_palette = kFourColours;
  spec.left = 1;
  spec.top = 1;
  spec.width = 3;
  spec.height = 2;
  spec.indices = {0, 1, 2, 3, 2, 1};
  return spec;
}

TEST(GifDecoder, PaletteFrameOnTheLogicalScreen) {
  const Image image = DecodeImage(EncodeGif(SmallGif()));
  EXPECT_EQ(image.mode, ImageMode::kP);
  EXPECT_EQ(image.width, 5);
  EXPECT_EQ(image.height, 4);
  EXPECT_EQ(image.pixels, (std::vector<uint8_t>{0, 0, 0, 0, 0,  //
                                                0, 0, 1, 2, 0,  //
                                                0, 3, 2, 1, 0,  //
                                                0, 0, 0, 0, 0}));
  EXPECT_EQ(PixelAt(ConvertToRGB(image), 3, 1), (std::vector<int>{0, 0, 255}));
  EXPECT_EQ(PixelAt(ConvertToRGB(image), 0, 0), (std::vector<int>{255, 0, 0}));  // fill index 0
  EXPECT_TRUE(image.palette_alpha.empty());
}

// PIL fills the rest of frame 0 with the transparent index.
TEST(GifDecoder, TransparentIndexFillsTheCanvas) {
  GifSpec spec = SmallGif();
  spec.transparent_index = 3;
  const Image image = DecodeImage(EncodeGif(spec));
  EXPECT_EQ(PixelAt(image, 0, 0), (std::vector<int>{3}));
  EXPECT_EQ(PixelAt(image, 1, 2), (std::vector<int>{3}));  // transparent pixels of the frame stay as indices
  ASSERT_EQ(image.palette_alpha.size(), 256u);
  EXPECT_EQ(image.palette_alpha[3], 0);
  EXPECT_EQ(image.palette_alpha[0], 255);
}

TEST(GifDecoder, LocalPaletteAndGrowingCanvas) {
  GifSpec spec = SmallGif();
  spec.local_palette = {9, 9, 9, 8, 8, 8};
  spec.left = 4;  // sticks out of the 5x4 screen
  spec.width = 2;
  spec.height = 2;
  spec.indices = {1, 0, 0, 1};
  const Image image = DecodeImage(EncodeGif(spec));
  EXPECT_EQ(image.width, 6);
  EXPECT_EQ(image.height, 4);
  EXPECT_EQ(PixelAt(ConvertToRGB(image), 4, 1), (std::vector<int>{8, 8, 8}));
}

// PIL drops a palette that is the identity gray ramp and opens the image as "L".
TEST(GifDecoder, GrayRampPaletteIsL) {
  GifSpec spec;
  spec.screen_width = spec.width = 4;
  spec.screen_height = spec.height = 1;
  for (int i = 0; i < 256; ++i) spec.global_palette.insert(spec.global_palette.end(), {uint8_t(i), uint8_t(i), uint8_t(i)});
  spec.indices = {0, 50, 128, 255};
  const Image image = DecodeImage(EncodeGif(spec));
  EXPECT_EQ(image.mode, ImageMode::kL);
  EXPECT_EQ(image.pixels, spec.indices);
}

TEST(GifDecoder, InterlacedRowsAreReordered) {
  GifSpec spec;
  spec.screen_width = spec.width = 2;
  spec.screen_height = spec.height = 11;
  spec.global_palette = kFourColours;
  for (int y = 0; y < 11; ++y) spec.indices.insert(spec.indices.end(), {uint8_t(y % 4), uint8_t((y / 4) % 4)});
  spec.interlaced = true;
  const Image image = DecodeImage(EncodeGif(spec));
  EXPECT_EQ(image.pixels, spec.indices);
}

TEST(GifDecoder, TruncatedAndCorruptAreUnsupportedMedia) {
  GifSpec spec;
  spec.screen_width = spec.width = 32;
  spec.screen_height = spec.height = 32;
  spec.global_palette = kFourColours;
  for (int i = 0; i < 32 * 32; ++i) spec.indices.push_back(static_cast<uint8_t>((i * 7 + i / 5) % 4));
  const std::string gif = EncodeGif(spec);
  ASSERT_NO_THROW(DecodeImage(gif));
  for (size_t keep : {size_t{6}, size_t{10}, size_t{13}, size_t{30}, gif.size() / 2, gif.size() - 3}) {
    std::string message;
    EXPECT_EQ(ErrorCodeOf([&] { DecodeImage(gif.substr(0, keep)); }, &message), ErrorCode::kUnsupportedMedia)
        << "kept " << keep;
  }
  std::string no_image = gif.substr(0, 13 + 12);  // header, screen, palette: then the trailer
  no_image += ';';
  EXPECT_EQ(ErrorCodeOf([&] { DecodeImage(no_image); }), ErrorCode::kUnsupportedMedia);
}

TEST(WebpDecoder, LosslessRgbaIsRgba) {
  std::vector<uint8_t> rgba;
  for (int i = 0; i < 6 * 5; ++i) rgba.insert(rgba.end(), {uint8_t(i * 8), uint8_t(255 - i), uint8_t(i * 3), uint8_t(1 + i * 8)});
  const Image image = DecodeImage(EncodeWebpLossless(rgba, 6, 5, 4));
  EXPECT_EQ(image.mode, ImageMode::kRGBA);
  EXPECT_EQ(image.width, 6);
  EXPECT_EQ(image.height, 5);
  EXPECT_EQ(image.pixels, rgba);
}

TEST(WebpDecoder, OpaqueIsRgb) {
  std::vector<uint8_t> rgb;
  for (int i = 0; i < 7 * 3; ++i) rgb.insert(rgb.end(), {uint8_t(i * 11), uint8_t(i), uint8_t(200 - i)});
  Image image = DecodeImage(EncodeWebpLossless(rgb, 7, 3, 3));
  EXPECT_EQ(image.mode, ImageMode::kRGB);
  EXPECT_EQ(image.pixels, rgb);

  std::vector<uint8_t> flat(16 * 16 * 3, 0);
  for (size_t i = 0; i < flat.size(); i += 3) {
    flat[i] = 200;
    flat[i + 1] = 100;
    flat[i + 2] = 50;
  }
  image = DecodeImage(EncodeWebpLossy(flat, 16, 16, 95));
  EXPECT_EQ(image.mode, ImageMode::kRGB);
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(PixelAt(image, 8, 8)[c], flat[c], 4);
}

TEST(WebpDecoder, TruncatedAndCorruptAreUnsupportedMedia) {
  std::vector<uint8_t> rgb(40 * 40 * 3);
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<uint8_t>(i * 31 % 251);
  for (const std::string& webp : {EncodeWebpLossless(rgb, 40, 40, 3), EncodeWebpLossy(rgb, 40, 40, 80)}) {
    ASSERT_NO_THROW(DecodeImage(webp));
    for (size_t keep : {size_t{12}, size_t{20}, size_t{30}, webp.size() / 2, webp.size() - 1}) {
      EXPECT_EQ(ErrorCodeOf([&] { DecodeImage(webp.substr(0, keep)); }), ErrorCode::kUnsupportedMedia) << "kept " << keep;
    }
    std::string bad = webp;
    bad[12] = 'X';  // chunk type "XP8 " / "XP8L"
    EXPECT_EQ(ErrorCodeOf([&] { DecodeImage(bad); }), ErrorCode::kUnsupportedMedia);
  }
}

}  // namespace
}  // namespace mms::media
