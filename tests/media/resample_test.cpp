// The PIL-exact resizer: coefficient tables, and windowed resizing against a plain
// whole-image reference (the golden test checks the values against PIL itself).
#include "media/resample.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <tuple>
#include <vector>

#include "media_test_util.h"

namespace mms::media::internal {
namespace {

Image RandomImage(ImageMode mode, int width, int height, uint32_t seed) {
  Image image(mode, width, height);
  std::mt19937 rng(seed);
  for (uint8_t& v : image.pixels) v = static_cast<uint8_t>(rng());
  return image;
}

// Whole-image two-pass resize written the obvious way, 8-bit modes only.
Image ReferenceBicubic(const Image& in, int out_width, int out_height) {
  const int channels = BytesPerPixel(in.mode);
  const BicubicTaps tx = ComputeBicubicTaps(in.width, out_width, 0, out_width);
  const BicubicTaps ty = ComputeBicubicTaps(in.height, out_height, 0, out_height);
  auto clip = [](int64_t acc) { return static_cast<uint8_t>(std::clamp<int64_t>(acc >> 22, 0, 255)); };
  Image horizontal(in.mode, out_width, in.height);
  if (out_width == in.width) horizontal = in;
  else {
    for (int y = 0; y < in.height; ++y) {
      for (int x = 0; x < out_width; ++x) {
        for (int c = 0; c < channels; ++c) {
          int64_t acc = 1 << 21;
          for (int t = 0; t < tx.count[x]; ++t) acc += int64_t{in.Row(y)[(tx.first[x] + t) * channels + c]} * tx.fixed_weights[x * tx.max_taps + t];
          horizontal.Row(y)[x * channels + c] = clip(acc);
        }
      }
    }
  }
  if (out_height == in.height) return horizontal;
  Image out(in.mode, out_width, out_height);
  for (int y = 0; y < out_height; ++y) {
    for (int b = 0; b < out_width * channels; ++b) {
      int64_t acc = 1 << 21;
      for (int t = 0; t < ty.count[y]; ++t) acc += int64_t{horizontal.Row(ty.first[y] + t)[b]} * ty.fixed_weights[y * ty.max_taps + t];
      out.Row(y)[b] = clip(acc);
    }
  }
  return out;
}

Image Crop(const Image& image, const Rect& r) {
  Image out(image.mode, r.width, r.height);
  const int bpp = BytesPerPixel(image.mode);
  for (int y = 0; y < r.height; ++y) {
    std::copy_n(image.Row(r.y + y) + r.x * bpp, r.width * bpp, out.Row(y));
  }
  return out;
}

TEST(BicubicTaps, WeightsSumToOneInFixedPoint) {
  for (const auto& [in, out] : std::vector<std::pair<int, int>>{{512, 224}, {50, 224}, {1000, 4480}, {451, 336}, {7, 3}}) {
    const BicubicTaps taps = ComputeBicubicTaps(in, out, 0, out);
    for (int i = 0; i < out; ++i) {
      int64_t sum = 0;
      for (int t = 0; t < taps.count[i]; ++t) sum += taps.fixed_weights[i * taps.max_taps + t];
      EXPECT_NEAR(sum, 1 << 22, taps.count[i]) << in << "->" << out << " at " << i;
      EXPECT_GE(taps.first[i], 0);
      EXPECT_LE(taps.first[i] + taps.count[i], in);
    }
  }
}

TEST(BicubicTaps, SameSizeIsTheIdentity) {
  const BicubicTaps taps = ComputeBicubicTaps(10, 10, 0, 10);
  for (int i = 0; i < 10; ++i) {
    for (int t = 0; t < taps.count[i]; ++t) {
      EXPECT_EQ(taps.fixed_weights[i * taps.max_taps + t], taps.first[i] + t == i ? 1 << 22 : 0);
    }
  }
}

TEST(ResizeBicubic, WindowsMatchTheWholeImage) {
  uint32_t seed = 1;
  for (ImageMode mode : {ImageMode::kL, ImageMode::kLA, ImageMode::kRGB, ImageMode::kRGBA}) {
    for (const auto& [w, h, ow, oh] : std::vector<std::tuple<int, int, int, int>>{
             {37, 23, 50, 31},
             {64, 48, 20, 15},
             {30, 30, 30, 45},
             {41, 19, 13, 19},
             {1, 1, 9, 9},
             // CLIP's shrink of a 451 x 300 photo; more rows than one block of 16, and an
             // enlargement; two-pixel rows (the AVX-512 RGB pass's narrowest).
             {451, 300, 337, 224},
             {40, 35, 17, 70},
             {2, 20, 5, 33}}) {
      const Image in = RandomImage(mode, w, h, seed++);
      const Image whole = ReferenceBicubic(in, ow, oh);
      EXPECT_EQ(ResizeBicubic(in, ow, oh, Rect{0, 0, ow, oh}).pixels, whole.pixels);
      for (const Rect& r : {Rect{1, 2, ow / 2, oh / 3}, Rect{ow - 3, oh - 2, 3, 2}, Rect{0, oh / 2, ow, 1}}) {
        EXPECT_EQ(ResizeBicubic(in, ow, oh, r).pixels, Crop(whole, r).pixels)
            << ImageModeName(mode) << " " << w << "x" << h << "->" << ow << "x" << oh << " window " << r.x << "," << r.y;
      }
    }
  }
}

TEST(ResizeBicubic, Gray16ConstantStaysConstantAndWindowsAgree) {
  Image flat(ImageMode::kI16, 13, 9);
  for (size_t i = 0; i < flat.pixels.size(); i += 2) flat.pixels[i + 1] = 0x12;  // 0x1200
  const Image out = ResizeBicubic(flat, 31, 20, Rect{0, 0, 31, 20});
  for (size_t i = 0; i < out.pixels.size(); i += 2) ASSERT_EQ(out.pixels[i] | (out.pixels[i + 1] << 8), 0x1200);

  const Image in = RandomImage(ImageMode::kI16, 25, 17, 99);
  const Image whole = ResizeBicubic(in, 11, 30, Rect{0, 0, 11, 30});
  const Rect r{3, 5, 6, 20};
  EXPECT_EQ(ResizeBicubic(in, 11, 30, r).pixels, Crop(whole, r).pixels);
}

TEST(ResizeNearest, WindowsMatchAndPixelsComeFromTheSource) {
  Image in(ImageMode::kP, 5, 3);
  for (int i = 0; i < 15; ++i) in.pixels[i] = static_cast<uint8_t>(i);
  const Image up = ResizeNearest(in, 12, 7, Rect{0, 0, 12, 7});
  // Source column of output x: floor((x + 0.5) * 5 / 12).
  const std::vector<int> expected_columns = {0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 4, 4};
  for (int x = 0; x < 12; ++x) EXPECT_EQ(up.Row(0)[x], expected_columns[x]) << x;
  EXPECT_EQ(up.palette, in.palette);
  const Rect r{4, 2, 5, 3};
  EXPECT_EQ(ResizeNearest(in, 12, 7, r).pixels, Crop(up, r).pixels);
}

TEST(Alpha, PremultiplyRoundTripsLikePil) {
  Image image(ImageMode::kRGBA, 4, 1);
  image.pixels = {255, 128, 0, 0, /**/ 255, 128, 7, 255, /**/ 200, 100, 50, 128, /**/ 255, 255, 255, 1};
  PremultiplyAlpha(&image);
  EXPECT_EQ(image.pixels, (std::vector<uint8_t>{0, 0, 0, 0, 255, 128, 7, 255, 100, 50, 25, 128, 1, 1, 1, 1}));
  UnpremultiplyAlpha(&image);
  // 255 * 100 / 128 = 199 (truncated): the round trip is lossy exactly as in PIL.
  EXPECT_EQ(image.pixels, (std::vector<uint8_t>{0, 0, 0, 0, 255, 128, 7, 255, 199, 99, 49, 128, 255, 255, 255, 1}));
}

}  // namespace
}  // namespace mms::media::internal
