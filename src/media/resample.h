// PIL-exact image resizing (Image.resize with BICUBIC, and NEAREST for "P" and "1").
// Internal to media/.
//
// Bicubic, as Pillow's Resample.c: separable, horizontal pass first; kernel a = -0.5 with
// support 2 scaled by in/out when shrinking (antialiasing); per output pixel the taps run
// from int(centre - support + 0.5) to int(centre + support + 0.5) clipped to the image,
// weights normalized to sum 1 in double precision. 8-bit images use the weights in 22-bit
// fixed point with an accumulator starting at 2^21, >> 22 and clamped to 0..255 after each
// pass. "I;16" images use the double weights, round half away from zero, and Pillow's
// per-byte clamping of the 16-bit result.
//
// Nearest, as Pillow's ImagingScaleAffine: source coordinate = in/out * (i + 0.5),
// accumulated by repeated addition in double precision and truncated.
//
// A resize followed by a crop only needs the output pixels inside the crop, and each
// output pixel depends only on its own taps, so these functions compute just a window of
// the output: same values as resizing everything then cropping, much less work.
#pragma once

#include <cstdint>
#include <vector>

#include "media/image.h"

namespace mms::media::internal {

struct Rect {
  int x = 0;
  int y = 0;
  int width = 0;
  int height = 0;
};

// Bicubic taps along one axis for output indices [begin, end).
struct BicubicTaps {
  int begin = 0;
  int max_taps = 0;                  // stride of `weights` / `fixed_weights`
  std::vector<int> first;            // first source index, per output
  std::vector<int> count;            // number of taps, per output
  std::vector<double> weights;       // normalized weights
  std::vector<int32_t> fixed_weights;  // the same in 22-bit fixed point (8-bit images)
};
BicubicTaps ComputeBicubicTaps(int in_size, int out_size, int begin, int end);

// The pixels inside `window` (which must lie within out_width x out_height) of `image`
// resized to out_width x out_height. Bicubic takes L, LA, RGB, RGBA, CMYK and I;16 (LA and
// RGBA as given: premultiplying is the caller's business); nearest takes any mode.
Image ResizeBicubic(const Image& image, int out_width, int out_height, const Rect& window);
Image ResizeNearest(const Image& image, int out_width, int out_height, const Rect& window);

// PIL's RGBA <-> RGBa and LA <-> La conversions, in place (other modes are left alone).
// Premultiply: c * a / 255 rounded; unpremultiply: 255 * c / a truncated, clamped to 255,
// with a = 0 and a = 255 left unchanged.
void PremultiplyAlpha(Image* image);
void UnpremultiplyAlpha(Image* image);

}  // namespace mms::media::internal
