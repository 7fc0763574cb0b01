// BMP decoding, with files assembled byte by byte.
#include <string>
#include <vector>

#include "base/file_util.h"
#include "media/image_decoder.h"
#include "media_test_util.h"
#include "test_support.h"

namespace mms::media {
namespace {

using testing::BmpSpec;
using testing::BuildBmp;
using testing::kBiBitfields;
using testing::kBiRle8;
using testing::ErrorCodeOf;
using testing::PixelAt;


std::string Bytes(std::initializer_list<int> values) {
  std::string s;
  for (int v : values) s.push_back(static_cast<char>(v));
  return s;
}

TEST(BmpDecoder, Rgb24BottomUpWithRowPadding) {
  BmpSpec spec;
  spec.width = 3;  // 9 bytes of pixels + 3 of padding per row
  spec.height = 2;
  spec.rows = Bytes({/* bottom row */ 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 0, 0,
                     /* top row */ 10, 20, 30, 40, 50, 60, 70, 80, 90, 0, 0, 0});
  const Image image = DecodeImage(BuildBmp(spec));
  EXPECT_EQ(image.mode, ImageMode::kRGB);
  EXPECT_EQ(PixelAt(image, 0, 0), (std::vector<int>{30, 20, 10}));  // BGR -> RGB, top row first
  EXPECT_EQ(PixelAt(image, 2, 0), (std::vector<int>{90, 80, 70}));
  EXPECT_EQ(PixelAt(image, 1, 1), (std::vector<int>{6, 5, 4}));
}

// PIL reads 32-bit BI_RGB as BGRX: the fourth byte is not alpha.
TEST(BmpDecoder, Rgb32TopDownIgnoresFourthByte) {
  BmpSpec spec;
  spec.width = 2;
  spec.height = -2;
  spec.bits = 32;
  spec.rows = Bytes({1, 2, 3, 0, 4, 5, 6, 77, /* row 1 */ 7, 8, 9, 255, 10, 11, 12, 128});
  const Image image = DecodeImage(BuildBmp(spec));
  EXPECT_EQ(image.mode, ImageMode::kRGB);
  EXPECT_EQ(image.pixels, (std::vector<uint8_t>{3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10}));
}

TEST(BmpDecoder, Rgba32BitfieldsV5) {
  BmpSpec spec;
  spec.width = 2;
  spec.height = 1;
  spec.bits = 32;
  spec.compression = kBiBitfields;
  spec.header_size = 124;
  spec.masks[0] = 0x00FF0000;
  spec.masks[1] = 0x0000FF00;
  spec.masks[2] = 0x000000FF;
  spec.masks[3] = 0xFF000000;
  spec.rows = Bytes({1, 2, 3, 40, 4, 5, 6, 255});
  const Image image = DecodeImage(BuildBmp(spec));
  EXPECT_EQ(image.mode, ImageMode::kRGBA);
  EXPECT_EQ(image.pixels, (std::vector<uint8_t>{3, 2, 1, 40, 6, 5, 4, 255}));
}

TEST(BmpDecoder, Rgb32BitfieldsAfterInfoHeader) {
  BmpSpec spec;
  spec.width = 1;
  spec.height = 1;
  spec.bits = 32;
  spec.compression = kBiBitfields;
  spec.masks[0] = 0x000000FF;  // R in the first byte
  spec.masks[1] = 0x0000FF00;
  spec.masks[2] = 0x00FF0000;
  spec.rows = Bytes({11, 22, 33, 44});
  const Image image = DecodeImage(BuildBmp(spec));
  EXPECT_EQ(image.mode, ImageMode::kRGB);
  EXPECT_EQ(image.pixels, (std::vector<uint8_t>{11, 22, 33}));
}

TEST(BmpDecoder, Palette8WithRowPadding) {
  BmpSpec spec;
  spec.width = 5;
  spec.height = 1;
  spec.bits = 8;
  spec.colors_used = 3;
  spec.palette = Bytes({0, 0, 255, 0, /* red */ 0, 255, 0, 0, /* green */ 255, 0, 0, 0 /* blue */});
  spec.rows = Bytes({0, 1, 2, 1, 0, 0, 0, 0});
  const Image image = DecodeImage(BuildBmp(spec));
  EXPECT_EQ(image.mode, ImageMode::kP);
  EXPECT_EQ(image.pixels, (std::vector<uint8_t>{0, 1, 2, 1, 0}));
  EXPECT_EQ(ConvertToRGB(image).pixels, (std::vector<uint8_t>{255, 0, 0, 0, 255, 0, 0, 0, 255, 0, 255, 0, 255, 0, 0}));
}

TEST(BmpDecoder, GrayRampPaletteIsL) {
  BmpSpec spec;
  spec.width = 4;
  spec.height = 1;
  spec.bits = 8;
  for (int i = 0; i < 256; ++i) spec.palette += Bytes({i, i, i, 0});
  spec.rows = Bytes({0, 100, 200, 255});
  const Image image = DecodeImage(BuildBmp(spec));
  EXPECT_EQ(image.mode, ImageMode::kL);
  EXPECT_EQ(image.pixels, (std::vector<uint8_t>{0, 100, 200, 255}));
}

TEST(BmpDecoder, OneBitBlackWhiteIsBilevelAndColouredIsPalette) {
  BmpSpec spec;
  spec.width = 10;
  spec.height = 1;
  spec.bits = 1;
  spec.palette = Bytes({0, 0, 0, 0, 255, 255, 255, 0});
  spec.rows = Bytes({0b10110000, 0b01000000, 0, 0});
  Image image = DecodeImage(BuildBmp(spec));
  EXPECT_EQ(image.mode, ImageMode::kBilevel);
  EXPECT_EQ(image.pixels, (std::vector<uint8_t>{255, 0, 255, 255, 0, 0, 0, 0, 0, 255}));

  spec.palette = Bytes({0, 0, 255, 0, 255, 0, 0, 0});  // red, blue
  image = DecodeImage(BuildBmp(spec));
  EXPECT_EQ(image.mode, ImageMode::kP);
  EXPECT_EQ(PixelAt(ConvertToRGB(image), 0, 0), (std::vector<int>{0, 0, 255}));
  EXPECT_EQ(PixelAt(ConvertToRGB(image), 1, 0), (std::vector<int>{255, 0, 0}));
}

TEST(BmpDecoder, FourBitPalette) {
  BmpSpec spec;
  spec.width = 3;
  spec.height = 1;
  spec.bits = 4;
  for (int i = 0; i < 16; ++i) spec.palette += Bytes({i * 16, 0, 255 - i, 0});
  spec.rows = Bytes({0xF1, 0x70, 0, 0});
  const Image image = DecodeImage(BuildBmp(spec));
  EXPECT_EQ(image.mode, ImageMode::kP);
  EXPECT_EQ(image.pixels, (std::vector<uint8_t>{15, 1, 7}));
  EXPECT_EQ(PixelAt(ConvertToRGB(image), 0, 0), (std::vector<int>{240, 0, 240}));
}

TEST(BmpDecoder, ReferenceBmpMatchesPng) {
  const std::string dir = mms::testing::SourcePath("tests/data/clip-reference/images/");
  const Image bmp = DecodeImage(ReadFileBytes(dir + "chelsea.bmp"));
  const Image png = DecodeImage(ReadFileBytes(dir + "chelsea.png"));
  EXPECT_EQ(bmp.width, 451);
  EXPECT_EQ(bmp.height, 300);
  EXPECT_EQ(bmp.pixels, png.pixels);
}

TEST(BmpDecoder, UnsupportedVariantsAreRejectedClearly) {
  BmpSpec rle;
  rle.width = 2;
  rle.height = 1;
  rle.bits = 8;
  rle.compression = kBiRle8;
  rle.palette = Bytes({0, 0, 0, 0});
  rle.rows = Bytes({2, 0, 0, 1});
  std::string message;
  EXPECT_EQ(ErrorCodeOf([&] { DecodeImage(BuildBmp(rle)); }, &message), ErrorCode::kUnsupportedMedia);
  EXPECT_NE(message.find("RLE"), std::string::npos) << message;

  BmpSpec sixteen;
  sixteen.width = 2;
  sixteen.height = 1;
  sixteen.bits = 16;
  sixteen.rows = Bytes({0, 0, 0, 0});
  EXPECT_EQ(ErrorCodeOf([&] { DecodeImage(BuildBmp(sixteen)); }, &message), ErrorCode::kUnsupportedMedia);
  EXPECT_NE(message.find("16 bits"), std::string::npos) << message;

  BmpSpec odd_masks;
  odd_masks.width = 1;
  odd_masks.height = 1;
  odd_masks.bits = 32;
  odd_masks.compression = kBiBitfields;
  odd_masks.masks[0] = 0x3FF00000;  // 10-bit channels
  odd_masks.masks[1] = 0x000FFC00;
  odd_masks.masks[2] = 0x000003FF;
  odd_masks.rows = Bytes({0, 0, 0, 0});
  EXPECT_EQ(ErrorCodeOf([&] { DecodeImage(BuildBmp(odd_masks)); }), ErrorCode::kUnsupportedMedia);
}

TEST(BmpDecoder, TruncatedAndCorruptAreUnsupportedMedia) {
  BmpSpec spec;
  spec.width = 8;
  spec.height = 8;
  spec.rows.assign(8 * 24, '\x55');
  const std::string bmp = BuildBmp(spec);
  ASSERT_NO_THROW(DecodeImage(bmp));
  for (size_t keep : {size_t{2}, size_t{14}, size_t{30}, size_t{54}, bmp.size() / 2, bmp.size() - 1}) {
    EXPECT_EQ(ErrorCodeOf([&] { DecodeImage(bmp.substr(0, keep)); }), ErrorCode::kUnsupportedMedia) << "kept " << keep;
  }
  std::string bad_header = bmp;
  bad_header[14] = 41;  // no such header size
  EXPECT_EQ(ErrorCodeOf([&] { DecodeImage(bad_header); }), ErrorCode::kUnsupportedMedia);
  std::string zero_width = bmp;
  zero_width[18] = 0;
  EXPECT_EQ(ErrorCodeOf([&] { DecodeImage(zero_width); }), ErrorCode::kUnsupportedMedia);
  std::string far_offset = bmp;
  far_offset[13] = 0x10;  // pixel data offset past the end of the file
  EXPECT_EQ(ErrorCodeOf([&] { DecodeImage(far_offset); }), ErrorCode::kUnsupportedMedia);
}

}  // namespace
}  // namespace mms::media
