// JPEG decoding, with test files written by TurboJPEG's encoder.
#include <turbojpeg.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "base/file_util.h"
#include "media/image_decoder.h"
#include "media_test_util.h"
#include "test_support.h"

namespace mms::media {
namespace {

using testing::EncodeJpeg;
using testing::ErrorCodeOf;


std::vector<uint8_t> Gradient(int width, int height, int channels) {
  std::vector<uint8_t> pixels;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      for (int c = 0; c < channels; ++c) pixels.push_back(static_cast<uint8_t>((x * 8 + y * 4 + c * 60) % 256));
    }
  }
  return pixels;
}

int MaxDiff(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  int worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(int{a[i]} - int{b[i]}));
  return worst;
}

const std::string kImages = "tests/data/clip-reference/images/";

TEST(JpegDecoder, RgbRoundTrip) {
  const std::vector<uint8_t> rgb = Gradient(24, 16, 3);
  const Image image = DecodeImage(EncodeJpeg(rgb, 24, 16, TJPF_RGB, TJSAMP_444, 100));
  EXPECT_EQ(image.mode, ImageMode::kRGB);
  EXPECT_EQ(image.width, 24);
  EXPECT_EQ(image.height, 16);
  EXPECT_LE(MaxDiff(image.pixels, rgb), 4);
}

TEST(JpegDecoder, GrayscaleIsL) {
  const std::vector<uint8_t> gray = Gradient(16, 16, 1);
  const Image image = DecodeImage(EncodeJpeg(gray, 16, 16, TJPF_GRAY, TJSAMP_GRAY, 100));
  EXPECT_EQ(image.mode, ImageMode::kL);
  EXPECT_LE(MaxDiff(image.pixels, gray), 3);
}

// A 4-channel JPEG opens as PIL's "CMYK", which is the inverse of libjpeg's output.
TEST(JpegDecoder, CmykIsStoredInvertedLikePil) {
  std::vector<uint8_t> cmyk(16 * 16 * 4);
  for (size_t i = 0; i < cmyk.size(); i += 4) {
    cmyk[i] = 200;     // C
    cmyk[i + 1] = 50;  // M
    cmyk[i + 2] = 0;   // Y
    cmyk[i + 3] = 20;  // K
  }
  const Image image = DecodeImage(EncodeJpeg(cmyk, 16, 16, TJPF_CMYK, TJSAMP_444, 100));
  EXPECT_EQ(image.mode, ImageMode::kCMYK);
  std::vector<uint8_t> inverted(cmyk.size());
  for (size_t i = 0; i < cmyk.size(); ++i) inverted[i] = static_cast<uint8_t>(255 - cmyk[i]);
  EXPECT_LE(MaxDiff(image.pixels, inverted), 2);
  // PIL's cmyk2rgb on (55, 205, 255, 235): nk = 20, r = 20 - 55*20/255 ...
  Image one(ImageMode::kCMYK, 1, 1);
  one.pixels = {55, 205, 255, 235};
  EXPECT_EQ(ConvertToRGB(one).pixels, (std::vector<uint8_t>{16, 4, 0}));
}

TEST(JpegDecoder, ExifOrientationIsIgnored) {
  const Image plain = DecodeImage(ReadFileBytes(mms::testing::SourcePath(kImages + "chelsea_q90.jpg")));
  const Image rotated = DecodeImage(ReadFileBytes(mms::testing::SourcePath(kImages + "chelsea_exif_rot6.jpg")));
  EXPECT_EQ(plain.width, 451);
  EXPECT_EQ(plain.height, 300);
  EXPECT_EQ(rotated.width, plain.width);
  EXPECT_EQ(rotated.pixels, plain.pixels);
}

TEST(JpegDecoder, TruncatedAndCorruptAreUnsupportedMedia) {
  const std::string jpeg = ReadFileBytes(mms::testing::SourcePath(kImages + "chelsea_q90.jpg"));
  for (size_t keep : {size_t{3}, size_t{4}, size_t{100}, size_t{700}, jpeg.size() / 2, jpeg.size() - 100}) {
    std::string message;
    EXPECT_EQ(ErrorCodeOf([&] { DecodeImage(jpeg.substr(0, keep)); }, &message), ErrorCode::kUnsupportedMedia)
        << "kept " << keep;
    EXPECT_EQ(message.rfind("JPEG: ", 0), 0u) << message;
  }
  // A start-of-frame with zero height.
  std::string bad = jpeg;
  const size_t sof = bad.find("\xFF\xC0");
  ASSERT_NE(sof, std::string::npos);
  bad[sof + 5] = 0;
  bad[sof + 6] = 0;
  EXPECT_EQ(ErrorCodeOf([&] { DecodeImage(bad); }), ErrorCode::kUnsupportedMedia);
}

TEST(JpegDecoder, HugeDimensionsAreTooLargeBeforeDecoding) {
  std::string jpeg = ReadFileBytes(mms::testing::SourcePath(kImages + "chelsea_q90.jpg"));
  const size_t sof = jpeg.find("\xFF\xC0");
  ASSERT_NE(sof, std::string::npos);
  for (int i : {5, 6, 7, 8}) jpeg[sof + i] = '\xEA';  // 60138 x 60138
  std::string message;
  EXPECT_EQ(ErrorCodeOf([&] { DecodeImage(jpeg); }, &message), ErrorCode::kTooLarge);
  EXPECT_NE(message.find("60138x60138"), std::string::npos) << message;
}

}  // namespace
}  // namespace mms::media
