// DecodeImage as a whole: format detection, limits, decompression bombs, and robustness
// against garbage and mutated files.
#include "media/image_decoder.h"

#include <turbojpeg.h>

#include <atomic>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "base/file_util.h"
#include "media_test_util.h"
#include "test_support.h"

namespace mms::media {
namespace {

using testing::AppendU16LE;
using testing::AppendU32BE;
using testing::AppendU32LE;
using testing::ErrorCodeOf;

const std::string kImages = "tests/data/clip-reference/images/";

std::string ReferenceFile(const std::string& name) { return ReadFileBytes(mms::testing::SourcePath(kImages + name)); }

// One small valid file per format.
std::vector<std::pair<std::string, std::string>> SampleFiles() {
  std::vector<uint8_t> rgb(24 * 16 * 3);
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<uint8_t>(i * 37 % 256);
  testing::BmpSpec bmp;
  bmp.width = 24;
  bmp.height = 16;
  bmp.rows.assign(rgb.begin(), rgb.end());
  testing::GifSpec gif;
  gif.screen_width = gif.width = 24;
  gif.screen_height = gif.height = 16;
  gif.global_palette = {0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255};
  for (int i = 0; i < 24 * 16; ++i) gif.indices.push_back(static_cast<uint8_t>(i % 4));
  return {
      {"png", testing::EncodePng(testing::Png(24, 16, 8, 2, rgb))},
      {"jpeg", testing::EncodeJpeg(rgb, 24, 16, TJPF_RGB, TJSAMP_420, 90)},
      {"bmp", testing::BuildBmp(bmp)},
      {"gif", testing::EncodeGif(gif)},
      {"webp lossless", testing::EncodeWebpLossless(rgb, 24, 16, 3)},
      {"webp lossy", testing::EncodeWebpLossy(rgb, 24, 16, 75)},
  };
}

TEST(ImageDecoder, EmptyAndUnknownInputAreUnsupportedMedia) {
  std::string message;
  EXPECT_EQ(ErrorCodeOf([] { DecodeImage(""); }, &message), ErrorCode::kUnsupportedMedia);
  EXPECT_NE(message.find("empty"), std::string::npos) << message;
  EXPECT_EQ(ErrorCodeOf([] { DecodeImage("hello, this is not an image"); }, &message), ErrorCode::kUnsupportedMedia);
  EXPECT_NE(message.find("unrecognized"), std::string::npos) << message;
  EXPECT_EQ(ErrorCodeOf([] { DecodeImage(std::string("GIF89a")); }), ErrorCode::kUnsupportedMedia);
  EXPECT_EQ(ErrorCodeOf([] { DecodeImage(std::string("\x89PNG\r\n\x1A\n", 8)); }), ErrorCode::kUnsupportedMedia);
  EXPECT_EQ(ErrorCodeOf([] { DecodeImage(std::string("\xFF\xD8\xFF")); }), ErrorCode::kUnsupportedMedia);
  EXPECT_EQ(ErrorCodeOf([] { DecodeImage(std::string("RIFF\0\0\0\0WEBP", 12)); }), ErrorCode::kUnsupportedMedia);
  EXPECT_EQ(ErrorCodeOf([] { DecodeImage(std::string("BM")); }), ErrorCode::kUnsupportedMedia);
}

TEST(ImageDecoder, RandomGarbageIsUnsupportedMedia) {
  std::mt19937 rng(1234);
  for (int trial = 0; trial < 200; ++trial) {
    std::string bytes(1 + rng() % 512, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    EXPECT_EQ(ErrorCodeOf([&] { DecodeImage(bytes); }), ErrorCode::kUnsupportedMedia);
  }
}

TEST(ImageDecoder, EveryFormatIsDetected) {
  for (const auto& [name, bytes] : SampleFiles()) {
    const Image image = DecodeImage(bytes);
    EXPECT_EQ(image.width, 24) << name;
    EXPECT_EQ(image.height, 16) << name;
  }
}

TEST(ImageDecoder, InputOverMaxBytesIsTooLarge) {
  const std::string png = ReferenceFile("chelsea.png");
  DecodeLimits limits;
  limits.max_bytes = png.size() - 1;
  EXPECT_EQ(ErrorCodeOf([&] { DecodeImage(png, limits); }), ErrorCode::kTooLarge);
  limits.max_bytes = png.size();
  EXPECT_NO_THROW(DecodeImage(png, limits));
}

TEST(ImageDecoder, ImageOverMaxPixelsIsTooLargeInEveryFormat) {
  DecodeLimits limits;
  limits.max_pixels = 24 * 16 - 1;
  for (const auto& [name, bytes] : SampleFiles()) {
    std::string message;
    EXPECT_EQ(ErrorCodeOf([&] { DecodeImage(bytes, limits); }, &message), ErrorCode::kTooLarge) << name;
    EXPECT_NE(message.find("24x16"), std::string::npos) << message;
  }
}

// A request's images share one pixel budget: each takes its pixels, the one that does not
// fit is refused naming the per-request limit, and threads taking from it at once never take
// more than it holds.
TEST(ImageDecoder, ImagesOfARequestShareItsPixelBudget) {
  const std::string png = SampleFiles()[0].second;  // 24 x 16 = 384 pixels
  PixelBudget budget(2 * 384 + 100);
  EXPECT_EQ(DecodeImageWithinRequest(png, {}, &budget).width, 24);
  EXPECT_EQ(budget.left(), 384u + 100u);
  EXPECT_NO_THROW(DecodeImageWithinRequest(png, {}, &budget));
  std::string message;
  EXPECT_EQ(ErrorCodeOf([&] { DecodeImageWithinRequest(png, {}, &budget); }, &message), ErrorCode::kTooLarge);
  EXPECT_NE(message.find("together have more than 868 pixels"), std::string::npos) << message;
  EXPECT_EQ(budget.left(), 100u);
  EXPECT_NO_THROW(DecodeImageWithinRequest(png, {}, nullptr));  // no budget: the decoder's own limits only

  PixelBudget shared(1000);
  std::atomic<int> taken{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        if (shared.Take(3)) taken.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(taken.load(), 333);
  EXPECT_EQ(shared.left(), 1u);
}

// Headers that claim enormous images must be refused from the header alone: with the
// pixel buffers allocated first these would need gigabytes (and fail under ASan).
TEST(ImageDecoder, DecompressionBombsAreRefusedFromTheHeader) {
  std::string png("\x89PNG\r\n\x1A\n", 8);
  std::string ihdr = "IHDR";
  AppendU32BE(&ihdr, 100000);
  AppendU32BE(&ihdr, 100000);
  ihdr += std::string("\x08\x02\x00\x00\x00", 5);
  AppendU32BE(&png, 13);
  png += ihdr;
  AppendU32BE(&png, testing::Crc32(ihdr));

  std::string gif = "GIF89a";
  AppendU16LE(&gif, 65535);
  AppendU16LE(&gif, 65535);
  gif += std::string("\x00\x00\x00", 3);  // no global palette
  gif += ',';
  AppendU32LE(&gif, 0);  // left, top
  AppendU16LE(&gif, 65535);
  AppendU16LE(&gif, 65535);
  gif += std::string("\x00\x02\x00;", 4);

  testing::BmpSpec bmp_spec;
  bmp_spec.width = 100000;
  bmp_spec.height = -100000;
  const std::string bmp = testing::BuildBmp(bmp_spec);

  std::string vp8x = "VP8X";
  AppendU32LE(&vp8x, 10);
  vp8x += std::string("\x02\x00\x00\x00", 4);  // animation flag
  for (int i = 0; i < 2; ++i) vp8x += std::string("\xFF\x3F\x00", 3);  // 16384 - 1
  vp8x += "ANIM";
  AppendU32LE(&vp8x, 6);
  vp8x += std::string(6, '\0');
  std::string webp = "RIFF";
  AppendU32LE(&webp, static_cast<uint32_t>(4 + vp8x.size()));
  webp += "WEBP" + vp8x;

  std::string jpeg = ReferenceFile("chelsea_q90.jpg");
  const size_t sof = jpeg.find("\xFF\xC0");
  for (int i : {5, 6, 7, 8}) jpeg[sof + i] = '\xEA';  // 60138 x 60138 (libjpeg's maximum is 65500)

  for (const auto& [name, bytes] : std::vector<std::pair<std::string, std::string>>{
           {"png", png}, {"gif", gif}, {"bmp", bmp}, {"webp", webp}, {"jpeg", jpeg}}) {
    std::string message;
    EXPECT_EQ(ErrorCodeOf([&] { DecodeImage(bytes); }, &message), ErrorCode::kTooLarge) << name << ": " << message;
    // Even a caller that lifts the pixel limit gets kTooLarge rather than a multi-gigabyte
    // allocation (WebP's largest possible canvas, 16384^2, is below that ceiling).
    if (name == "webp") continue;
    DecodeLimits unlimited;
    unlimited.max_pixels = std::numeric_limits<uint64_t>::max();
    EXPECT_EQ(ErrorCodeOf([&] { DecodeImage(bytes, unlimited); }), ErrorCode::kTooLarge) << name;
  }
}

// Mutated files must decode or fail with kUnsupportedMedia -- never crash, hang or throw
// anything else. (Run under ASan/UBSan too.)
TEST(ImageDecoder, MutatedFilesFailCleanly) {
  std::mt19937 rng(42);
  auto samples = SampleFiles();
  samples.emplace_back("reference jpeg", ReferenceFile("chelsea_q95_444.jpg"));
  samples.emplace_back("reference png", ReferenceFile("green_palette.png"));
  for (const auto& [name, original] : samples) {
    for (int trial = 0; trial < 150; ++trial) {
      std::string bytes = original;
      const int mutations = 1 + static_cast<int>(rng() % 8);
      for (int m = 0; m < mutations; ++m) {
        const size_t at = 2 + rng() % (bytes.size() - 2);  // keep the magic bytes mostly intact
        bytes[at] = static_cast<char>(rng());
      }
      if (trial % 3 == 0) bytes.resize(2 + rng() % (bytes.size() - 2));
      try {
        const Image image = DecodeImage(bytes);
        EXPECT_EQ(image.pixels.size(), image.stride() * image.height);
      } catch (const Error& e) {
        EXPECT_TRUE(e.code() == ErrorCode::kUnsupportedMedia || e.code() == ErrorCode::kTooLarge)
            << name << " trial " << trial << ": " << ErrorCodeName(e.code()) << " " << e.what();
      }
    }
  }
}

}  // namespace
}  // namespace mms::media
