// PNG decoding into PIL's modes, with test files written by libspng's encoder.
#include <spng.h>

#include <string>
#include <vector>

#include "base/file_util.h"
#include "media/image_decoder.h"
#include "media_test_util.h"
#include "test_support.h"

namespace mms::media {
namespace {

using testing::ErrorCodeOf;
using testing::EncodePng;
using testing::Png;
using testing::PixelAt;
using testing::PngSpec;


TEST(PngDecoder, Rgb8IsCopiedAsIs) {
  const PngSpec spec = Png(3, 2, 8, SPNG_COLOR_TYPE_TRUECOLOR, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18});
  const Image image = DecodeImage(EncodePng(spec));
  EXPECT_EQ(image.mode, ImageMode::kRGB);
  EXPECT_EQ(image.width, 3);
  EXPECT_EQ(image.height, 2);
  EXPECT_EQ(image.pixels, spec.rows);
}

TEST(PngDecoder, InterlacedIsDeinterlaced) {
  PngSpec spec = Png(9, 7, 8, SPNG_COLOR_TYPE_GRAYSCALE, {});
  spec.interlaced = true;
  for (int i = 0; i < 63; ++i) spec.rows.push_back(static_cast<uint8_t>(i * 4));
  const Image image = DecodeImage(EncodePng(spec));
  EXPECT_EQ(image.mode, ImageMode::kL);
  EXPECT_EQ(image.pixels, spec.rows);

  // Packed samples: 2-bit gray, 9 pixels = 3 bytes per row.
  PngSpec packed = Png(9, 7, 2, SPNG_COLOR_TYPE_GRAYSCALE, {});
  packed.interlaced = true;
  std::vector<uint8_t> expected;
  for (int y = 0; y < 7; ++y) {
    int sample[12] = {};
    for (int x = 0; x < 9; ++x) sample[x] = (x + y) % 4;
    for (int b = 0; b < 3; ++b) {
      packed.rows.push_back(static_cast<uint8_t>(sample[4 * b] << 6 | sample[4 * b + 1] << 4 | sample[4 * b + 2] << 2 | sample[4 * b + 3]));
    }
    for (int x = 0; x < 9; ++x) expected.push_back(static_cast<uint8_t>(sample[x] * 85));
  }
  EXPECT_EQ(DecodeImage(EncodePng(packed)).pixels, expected);
}

// PIL opens 16-bit grayscale as "I;16" and its convert("RGB") clamps (not scales) to 255.
TEST(PngDecoder, Gray16IsI16AndClampsToRgb) {
  const PngSpec spec = Png(3, 1, 16, SPNG_COLOR_TYPE_GRAYSCALE, {0x00, 0x64, 0x00, 0xFF, 0x12, 0x34});  // 100, 255, 0x1234
  const Image image = DecodeImage(EncodePng(spec));
  EXPECT_EQ(image.mode, ImageMode::kI16);
  EXPECT_STREQ(ImageModeName(image.mode), "I;16");
  EXPECT_EQ(image.pixels, (std::vector<uint8_t>{0x64, 0x00, 0xFF, 0x00, 0x34, 0x12}));  // little-endian
  const Image rgb = ConvertToRGB(image);
  EXPECT_EQ(rgb.pixels, (std::vector<uint8_t>{100, 100, 100, 255, 255, 255, 255, 255, 255}));
}

// PIL's "RGB;16B" / "RGBA;16B" raw modes keep the high byte of each sample.
TEST(PngDecoder, Rgb16AndRgba16KeepTheHighByte) {
  const PngSpec rgb = Png(1, 1, 16, SPNG_COLOR_TYPE_TRUECOLOR, {0x12, 0xFF, 0x80, 0x01, 0xFE, 0xFF});
  Image image = DecodeImage(EncodePng(rgb));
  EXPECT_EQ(image.mode, ImageMode::kRGB);
  EXPECT_EQ(image.pixels, (std::vector<uint8_t>{0x12, 0x80, 0xFE}));

  const PngSpec rgba = Png(1, 1, 16, SPNG_COLOR_TYPE_TRUECOLOR_ALPHA, {0x12, 0x00, 0x34, 0x00, 0x56, 0x00, 0x78, 0xFF});
  image = DecodeImage(EncodePng(rgba));
  EXPECT_EQ(image.mode, ImageMode::kRGBA);
  EXPECT_EQ(image.pixels, (std::vector<uint8_t>{0x12, 0x34, 0x56, 0x78}));
}

// 16-bit gray+alpha opens as RGBA in PIL ("LA;16B" unpacked into RGBA).
TEST(PngDecoder, GrayAlpha16OpensAsRgba) {
  const PngSpec spec = Png(1, 1, 16, SPNG_COLOR_TYPE_GRAYSCALE_ALPHA, {0xAB, 0xCD, 0x40, 0x01});
  const Image image = DecodeImage(EncodePng(spec));
  EXPECT_EQ(image.mode, ImageMode::kRGBA);
  EXPECT_EQ(image.pixels, (std::vector<uint8_t>{0xAB, 0xAB, 0xAB, 0x40}));
}

TEST(PngDecoder, GrayAlpha8IsLA) {
  const PngSpec spec = Png(2, 1, 8, SPNG_COLOR_TYPE_GRAYSCALE_ALPHA, {10, 255, 200, 0});
  const Image image = DecodeImage(EncodePng(spec));
  EXPECT_EQ(image.mode, ImageMode::kLA);
  EXPECT_EQ(image.pixels, spec.rows);
  EXPECT_EQ(ConvertToRGB(image).pixels, (std::vector<uint8_t>{10, 10, 10, 200, 200, 200}));  // alpha dropped
}

TEST(PngDecoder, OneBitGrayIsBilevel) {
  // 10 pixels: 1011001110 -> two bytes, the second padded.
  const PngSpec spec = Png(10, 1, 1, SPNG_COLOR_TYPE_GRAYSCALE, {0b10110011, 0b10000000});
  const Image image = DecodeImage(EncodePng(spec));
  EXPECT_EQ(image.mode, ImageMode::kBilevel);
  EXPECT_STREQ(ImageModeName(image.mode), "1");
  EXPECT_EQ(image.pixels, (std::vector<uint8_t>{255, 0, 255, 255, 0, 0, 255, 255, 255, 0}));
  EXPECT_EQ(PixelAt(ConvertToRGB(image), 1, 0), (std::vector<int>{0, 0, 0}));
  EXPECT_EQ(PixelAt(ConvertToRGB(image), 2, 0), (std::vector<int>{255, 255, 255}));
}

TEST(PngDecoder, TwoAndFourBitGrayAreScaledLikePil) {
  const PngSpec two = Png(4, 1, 2, SPNG_COLOR_TYPE_GRAYSCALE, {0b00011011});
  Image image = DecodeImage(EncodePng(two));
  EXPECT_EQ(image.mode, ImageMode::kL);
  EXPECT_EQ(image.pixels, (std::vector<uint8_t>{0, 85, 170, 255}));

  const PngSpec four = Png(3, 1, 4, SPNG_COLOR_TYPE_GRAYSCALE, {0x0F, 0x70});
  image = DecodeImage(EncodePng(four));
  EXPECT_EQ(image.pixels, (std::vector<uint8_t>{0, 255, 7 * 17}));
}

TEST(PngDecoder, PaletteWithTransparency) {
  PngSpec spec = Png(3, 1, 4, SPNG_COLOR_TYPE_INDEXED, {0x01, 0x20});
  spec.palette = {255, 0, 0, 0, 255, 0, 0, 0, 255};
  spec.palette_alpha = {0, 128};
  const Image image = DecodeImage(EncodePng(spec));
  EXPECT_EQ(image.mode, ImageMode::kP);
  EXPECT_EQ(image.pixels, (std::vector<uint8_t>{0, 1, 2}));
  ASSERT_EQ(image.palette.size(), 768u);
  EXPECT_EQ(image.palette[3], 0);
  EXPECT_EQ(image.palette[4], 255);
  EXPECT_EQ(image.palette[9], 0);  // undefined entries are black
  ASSERT_EQ(image.palette_alpha.size(), 256u);
  EXPECT_EQ(image.palette_alpha[0], 0);
  EXPECT_EQ(image.palette_alpha[1], 128);
  EXPECT_EQ(image.palette_alpha[2], 255);
  // convert("RGB") ignores palette transparency.
  EXPECT_EQ(ConvertToRGB(image).pixels, (std::vector<uint8_t>{255, 0, 0, 0, 255, 0, 0, 0, 255}));
}

TEST(PngDecoder, ReferenceImagesOpenInPilModes) {
  const std::string dir = mms::testing::SourcePath("tests/data/clip-reference/images/");
  EXPECT_EQ(DecodeImage(ReadFileBytes(dir + "camera.png")).mode, ImageMode::kL);
  EXPECT_EQ(DecodeImage(ReadFileBytes(dir + "green_palette.png")).mode, ImageMode::kP);
  EXPECT_EQ(DecodeImage(ReadFileBytes(dir + "alpha_rgba.png")).mode, ImageMode::kRGBA);
  const Image tiny = DecodeImage(ReadFileBytes(dir + "tiny_1x1.png"));
  EXPECT_EQ(tiny.pixels, (std::vector<uint8_t>{200, 30, 90}));
}

TEST(PngDecoder, TruncatedAndCorruptAreUnsupportedMedia) {
  PngSpec spec = Png(64, 64, 8, SPNG_COLOR_TYPE_TRUECOLOR, {});
  for (int i = 0; i < 64 * 64 * 3; ++i) spec.rows.push_back(static_cast<uint8_t>((i * 7919) >> 3));
  const std::string png = EncodePng(spec);
  ASSERT_NO_THROW(DecodeImage(png));
  // Cut anywhere up to the end of the compressed pixel data.
  for (size_t keep : {size_t{8}, size_t{20}, size_t{40}, png.size() / 3, png.size() / 2, png.size() - 30}) {
    EXPECT_EQ(ErrorCodeOf([&] { DecodeImage(png.substr(0, keep)); }), ErrorCode::kUnsupportedMedia) << "kept " << keep;
  }
  std::string bad_crc = png;
  bad_crc[30] ^= 0x01;  // IHDR's CRC (bytes 29..32)
  EXPECT_EQ(ErrorCodeOf([&] { DecodeImage(bad_crc); }), ErrorCode::kUnsupportedMedia);
  std::string bad_depth = png;
  bad_depth[24] = 7;  // bit depth 7 (the CRC is checked first, so fix it up)
  const uint32_t crc = testing::Crc32(bad_depth.substr(12, 17));
  for (int i = 0; i < 4; ++i) bad_depth[29 + i] = static_cast<char>(crc >> (24 - 8 * i));
  EXPECT_EQ(ErrorCodeOf([&] { DecodeImage(bad_depth); }), ErrorCode::kUnsupportedMedia);
}

}  // namespace
}  // namespace mms::media
