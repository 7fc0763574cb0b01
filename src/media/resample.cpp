#include "media/resample.h"

#include <immintrin.h>

// GCC 12 reports the intrinsics' own "undefined" operands (inlined from immintrin.h into
// target-attribute functions) as uninitialized: a false positive (GCC bug 105593, fixed in
// 13), silenced here only.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "base/cpu_features.h"
#include "base/error.h"

// The weights must come out bit-identical to Pillow's, which evaluates these expressions
// in plain double arithmetic; forbid fused multiply-adds in this file in case it is ever
// built for a target that has them.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#elif defined(__clang__)
#pragma clang fp contract(off)
#endif

namespace mms::media::internal {
namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;  // Pillow's PRECISION_BITS for 8-bit images
constexpr double kBicubicSupport = 2.0;

// Keys' cubic convolution kernel with a = -0.5, in the same operation order as Pillow.
double BicubicKernel(double x) {
  constexpr double a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

inline uint8_t ClipFixed8(int32_t accumulator) {
  const int32_t v = accumulator >> kPrecisionBits;
  return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

inline uint8_t Clip8(int v) { return static_cast<uint8_t>(v <= 0 ? 0 : (v < 256 ? v : 255)); }

// Pillow's ROUND_UP: half away from zero via truncation.
inline int RoundHalfAway(double v) { return static_cast<int>(v >= 0.0 ? v + 0.5F : v - 0.5F); }

inline int ReadI16(const uint8_t* p) { return p[0] | (p[1] << 8); }

// Pillow stores a 16-bit result as two separately clamped bytes: low = clamp(v % 256),
// high = clamp(v >> 8). For 0..65535 that is v itself; overshoot keeps Pillow's quirks.
inline void WriteI16(int v, uint8_t* p) {
  p[0] = Clip8(v % 256);
  p[1] = Clip8(v >> 8);
}

void CheckWindow(const Image& image, int out_width, int out_height, const Rect& w) {
  if (image.width <= 0 || image.height <= 0 || out_width <= 0 || out_height <= 0 || w.x < 0 || w.y < 0 ||
      w.width <= 0 || w.height <= 0 || w.x + w.width > out_width || w.y + w.height > out_height) {
    ThrowInternal("resize: window outside the output image");
  }
}

// Horizontal pass over source rows [row_begin, row_end) into `out` (one row per source row).
template <int C>
void HorizontalPass8(const Image& in, int row_begin, int row_end, const BicubicTaps& taps, uint8_t* out, size_t out_stride) {
  const int outputs = static_cast<int>(taps.first.size());
  for (int y = row_begin; y < row_end; ++y) {
    const uint8_t* row = in.Row(y);
    uint8_t* dst = out + static_cast<size_t>(y - row_begin) * out_stride;
    for (int i = 0; i < outputs; ++i, dst += C) {
      const int32_t* k = &taps.fixed_weights[static_cast<size_t>(i) * taps.max_taps];
      const uint8_t* src = row + static_cast<size_t>(taps.first[i]) * C;
      int32_t acc[C];
      for (int c = 0; c < C; ++c) acc[c] = 1 << (kPrecisionBits - 1);
      for (int t = 0; t < taps.count[i]; ++t, src += C) {
        for (int c = 0; c < C; ++c) acc[c] += src[c] * k[t];
      }
      for (int c = 0; c < C; ++c) dst[c] = ClipFixed8(acc[c]);
    }
  }
}

// Vertical pass: `rows(r)` is the source row r (absolute index); writes whole rows of
// `row_bytes` into `out`, accumulating one row at a time so the inner loop vectorizes.
template <typename RowFn>
void VerticalPass8(RowFn rows, size_t row_bytes, const BicubicTaps& taps, Image* out) {
  std::vector<int32_t> acc(row_bytes);
  for (size_t i = 0; i < taps.first.size(); ++i) {
    std::fill(acc.begin(), acc.end(), 1 << (kPrecisionBits - 1));
    const int32_t* k = &taps.fixed_weights[i * taps.max_taps];
    for (int t = 0; t < taps.count[i]; ++t) {
      const uint8_t* src = rows(taps.first[i] + t);
      const int32_t weight = k[t];
      for (size_t b = 0; b < row_bytes; ++b) acc[b] += src[b] * weight;
    }
    uint8_t* dst = out->Row(static_cast<int>(i));
    for (size_t b = 0; b < row_bytes; ++b) dst[b] = ClipFixed8(acc[b]);
  }
}

void HorizontalPass16(const Image& in, int row_begin, int row_end, const BicubicTaps& taps, uint8_t* out, size_t out_stride) {
  const int outputs = static_cast<int>(taps.first.size());
  for (int y = row_begin; y < row_end; ++y) {
    const uint8_t* row = in.Row(y);
    uint8_t* dst = out + static_cast<size_t>(y - row_begin) * out_stride;
    for (int i = 0; i < outputs; ++i) {
      const double* k = &taps.weights[static_cast<size_t>(i) * taps.max_taps];
      const uint8_t* src = row + static_cast<size_t>(taps.first[i]) * 2;
      double sum = 0.0;
      for (int t = 0; t < taps.count[i]; ++t) sum += ReadI16(src + 2 * t) * k[t];
      WriteI16(RoundHalfAway(sum), dst + 2 * i);
    }
  }
}

template <typename RowFn>
void VerticalPass16(RowFn rows, int width, const BicubicTaps& taps, Image* out) {
  for (size_t i = 0; i < taps.first.size(); ++i) {
    const double* k = &taps.weights[i * taps.max_taps];
    uint8_t* dst = out->Row(static_cast<int>(i));
    for (int x = 0; x < width; ++x) {
      double sum = 0.0;
      for (int t = 0; t < taps.count[i]; ++t) sum += ReadI16(rows(taps.first[i] + t) + 2 * x) * k[t];
      WriteI16(RoundHalfAway(sum), dst + 2 * x);
    }
  }
}

// AVX-512 forms of the 8-bit passes, for the CPUs that have it (chosen at run time; the
// project builds for baseline x86-64). The same int32 products and sums in the same
// order, so the same bytes. A 337 x 224 window of a 451 x 300 RGB photo (the resize of
// CLIP's preprocessing) took 1.9 ms in the loops above, most of a request's image
// preprocessing on the serving threads.
#define MMS_MEDIA_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2")))

// RGB, 16 source rows at a time: the three channel sums of one output pixel are vectors
// over the rows, each tap's pixel gathered from the 16 rows with one 32-bit load per row.
// A load takes the byte before the pixel (the pixel in bits 8..31) except in column 0,
// where it takes the byte after (bits 0..23): never outside the row, for rows of at least
// two pixels.
MMS_MEDIA_AVX512 void HorizontalPassRgbAvx512(const Image& in, int row_begin, int row_end, const BicubicTaps& taps,
                                              uint8_t* out, size_t out_stride) {
  const int outputs = static_cast<int>(taps.first.size());
  const __m512i row_offsets =
      _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                         _mm512_set1_epi32(static_cast<int>(in.stride())));
  const __m512i byte = _mm512_set1_epi32(0xFF), zero = _mm512_setzero_si512(), top = _mm512_set1_epi32(255);
  alignas(64) int32_t lanes[3][16];
  for (int y0 = row_begin; y0 < row_end; y0 += 16) {
    const int rows = std::min(16, row_end - y0);
    const __mmask16 live = static_cast<__mmask16>((1u << rows) - 1);
    const uint8_t* block = in.Row(y0);
    for (int i = 0; i < outputs; ++i) {
      const int32_t* k = &taps.fixed_weights[static_cast<size_t>(i) * taps.max_taps];
      __m512i acc[3];
      for (int c = 0; c < 3; ++c) acc[c] = _mm512_set1_epi32(1 << (kPrecisionBits - 1));
      for (int t = 0; t < taps.count[i]; ++t) {
        const int p = taps.first[i] + t;
        const int shift = p == 0 ? 0 : 8;
        const uint8_t* at = block + static_cast<size_t>(p) * 3 - (p == 0 ? 0 : 1);
        const __m512i pixel = _mm512_mask_i32gather_epi32(zero, live, row_offsets, at, 1);
        const __m512i weight = _mm512_set1_epi32(k[t]);
        for (int c = 0; c < 3; ++c) {
          const __m512i channel = _mm512_and_si512(_mm512_srli_epi32(pixel, shift + 8 * c), byte);
          acc[c] = _mm512_add_epi32(acc[c], _mm512_mullo_epi32(channel, weight));
        }
      }
      for (int c = 0; c < 3; ++c) {
        const __m512i v = _mm512_srai_epi32(acc[c], kPrecisionBits);
        _mm512_store_si512(lanes[c], _mm512_min_epi32(_mm512_max_epi32(v, zero), top));
      }
      uint8_t* dst = out + static_cast<size_t>(y0 - row_begin) * out_stride + static_cast<size_t>(i) * 3;
      for (int r = 0; r < rows; ++r, dst += out_stride) {
        for (int c = 0; c < 3; ++c) dst[c] = static_cast<uint8_t>(lanes[c][r]);
      }
    }
  }
}

// The vertical pass 16 bytes at a time, all taps summed in registers.
template <typename RowFn>
MMS_MEDIA_AVX512 void VerticalPass8Avx512(RowFn rows, size_t row_bytes, const BicubicTaps& taps, Image* out) {
  std::vector<const uint8_t*> sources(static_cast<size_t>(taps.max_taps));
  const __m512i zero = _mm512_setzero_si512(), top = _mm512_set1_epi32(255);
  for (size_t i = 0; i < taps.first.size(); ++i) {
    const int32_t* k = &taps.fixed_weights[i * taps.max_taps];
    const int count = taps.count[i];
    for (int t = 0; t < count; ++t) sources[t] = rows(taps.first[i] + t);
    uint8_t* dst = out->Row(static_cast<int>(i));
    for (size_t b = 0; b < row_bytes; b += 16) {
      const __mmask16 m =
          row_bytes - b >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (row_bytes - b)) - 1);
      __m512i acc = _mm512_set1_epi32(1 << (kPrecisionBits - 1));
      for (int t = 0; t < count; ++t) {
        const __m512i x = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, sources[t] + b));
        acc = _mm512_add_epi32(acc, _mm512_mullo_epi32(x, _mm512_set1_epi32(k[t])));
      }
      const __m512i v = _mm512_min_epi32(_mm512_max_epi32(_mm512_srai_epi32(acc, kPrecisionBits), zero), top);
      _mm512_mask_cvtepi32_storeu_epi8(dst + b, m, v);
    }
  }
}

void RunHorizontalPass(const Image& in, int row_begin, int row_end, const BicubicTaps& taps, Image* out) {
  uint8_t* dst = out->pixels.data();
  const size_t stride = out->stride();
  switch (in.mode) {
    case ImageMode::kI16: return HorizontalPass16(in, row_begin, row_end, taps, dst, stride);
    case ImageMode::kL: return HorizontalPass8<1>(in, row_begin, row_end, taps, dst, stride);
    case ImageMode::kLA: return HorizontalPass8<2>(in, row_begin, row_end, taps, dst, stride);
    case ImageMode::kRGB:
      if (CpuHasAvx512() && in.width >= 2) return HorizontalPassRgbAvx512(in, row_begin, row_end, taps, dst, stride);
      return HorizontalPass8<3>(in, row_begin, row_end, taps, dst, stride);
    case ImageMode::kRGBA:
    case ImageMode::kCMYK: return HorizontalPass8<4>(in, row_begin, row_end, taps, dst, stride);
    default: ThrowInternal(std::string("bicubic resize of mode ") + ImageModeName(in.mode));
  }
}

}  // namespace

BicubicTaps ComputeBicubicTaps(int in_size, int out_size, int begin, int end) {
  BicubicTaps taps;
  // Pillow passes the box as floats and computes the scale from their difference.
  const double scale = static_cast<double>(static_cast<float>(in_size)) / out_size;
  const double filter_scale = std::max(scale, 1.0);
  const double support = kBicubicSupport * filter_scale;
  taps.begin = begin;
  taps.max_taps = static_cast<int>(std::ceil(support)) * 2 + 1;
  const size_t outputs = static_cast<size_t>(end - begin);
  taps.first.resize(outputs);
  taps.count.resize(outputs);
  taps.weights.assign(outputs * taps.max_taps, 0.0);
  taps.fixed_weights.assign(outputs * taps.max_taps, 0);
  const double inverse_filter_scale = 1.0 / filter_scale;
  for (size_t i = 0; i < outputs; ++i) {
    const int out_index = begin + static_cast<int>(i);
    const double center = (out_index + 0.5) * scale;
    const int first = std::max(static_cast<int>(center - support + 0.5), 0);
    const int last = std::min(static_cast<int>(center + support + 0.5), in_size);
    const int count = last - first;
    double* w = &taps.weights[i * taps.max_taps];
    double total = 0.0;
    for (int t = 0; t < count; ++t) {
      w[t] = BicubicKernel((static_cast<double>(t + first) - center + 0.5) * inverse_filter_scale);
      total += w[t];
    }
    int32_t* fixed = &taps.fixed_weights[i * taps.max_taps];
    for (int t = 0; t < count; ++t) {
      if (total != 0.0) w[t] /= total;
      const double scaled = w[t] * (1 << kPrecisionBits);
      fixed[t] = static_cast<int32_t>(w[t] < 0 ? -0.5 + scaled : 0.5 + scaled);
    }
    taps.first[i] = first;
    taps.count[i] = count;
  }
  return taps;
}

Image ResizeBicubic(const Image& image, int out_width, int out_height, const Rect& window) {
  CheckWindow(image, out_width, out_height, window);
  if (image.mode == ImageMode::kP || image.mode == ImageMode::kBilevel) {
    ThrowInternal(std::string("bicubic resize of mode ") + ImageModeName(image.mode));  // PIL uses nearest
  }
  const int bytes_per_pixel = BytesPerPixel(image.mode);
  const bool need_horizontal = out_width != image.width;
  const bool need_vertical = out_height != image.height;

  // Pillow skips a pass whose size does not change (it would be the identity anyway).
  BicubicTaps taps_y;
  int row_begin = window.y, row_end = window.y + window.height;
  if (need_vertical) {
    taps_y = ComputeBicubicTaps(image.height, out_height, window.y, window.y + window.height);
    row_begin = taps_y.first.front();
    row_end = 0;
    for (size_t i = 0; i < taps_y.first.size(); ++i) row_end = std::max(row_end, taps_y.first[i] + taps_y.count[i]);
  }

  // Horizontal pass over just the source rows the vertical pass will read.
  Image horizontal;
  if (need_horizontal) {
    const BicubicTaps taps_x = ComputeBicubicTaps(image.width, out_width, window.x, window.x + window.width);
    horizontal = Image(image.mode, window.width, row_end - row_begin);
    RunHorizontalPass(image, row_begin, row_end, taps_x, &horizontal);
  }
  // Row r of the horizontally resized image, restricted to the window's columns.
  const size_t column_offset = need_horizontal ? 0 : static_cast<size_t>(window.x) * bytes_per_pixel;
  auto rows = [&](int r) -> const uint8_t* {
    return need_horizontal ? horizontal.Row(r - row_begin) : image.Row(r) + column_offset;
  };

  Image out(image.mode, window.width, window.height);
  if (!need_vertical) {
    for (int y = 0; y < window.height; ++y) std::memcpy(out.Row(y), rows(window.y + y), out.stride());
  } else if (image.mode == ImageMode::kI16) {
    VerticalPass16(rows, window.width, taps_y, &out);
  } else if (CpuHasAvx512()) {
    VerticalPass8Avx512(rows, out.stride(), taps_y, &out);
  } else {
    VerticalPass8(rows, out.stride(), taps_y, &out);
  }
  return out;
}

Image ResizeNearest(const Image& image, int out_width, int out_height, const Rect& window) {
  CheckWindow(image, out_width, out_height, window);
  // Source index per output index, Pillow's way: start at scale / 2 and keep adding the
  // scale (the rounding of repeated addition decides ties, so it is reproduced, not
  // replaced by a multiplication). -1 marks a coordinate outside the source (zero fill).
  auto source_indices = [](int in_size, int out_size, int begin, int count) {
    const double scale = static_cast<double>(in_size) / out_size;
    std::vector<int> indices(static_cast<size_t>(count));
    double position = scale * 0.5;
    for (int i = 0; i < begin + count; ++i, position += scale) {
      if (i < begin) continue;
      const int index = position < 0.0 ? -1 : static_cast<int>(position);
      indices[i - begin] = index < in_size ? index : -1;
    }
    return indices;
  };
  const std::vector<int> xs = source_indices(image.width, out_width, window.x, window.width);
  const std::vector<int> ys = source_indices(image.height, out_height, window.y, window.height);

  Image out(image.mode, window.width, window.height);
  out.palette = image.palette;
  out.palette_alpha = image.palette_alpha;
  const int bpp = BytesPerPixel(image.mode);
  for (int y = 0; y < window.height; ++y) {
    if (ys[y] < 0) continue;
    const uint8_t* src = image.Row(ys[y]);
    uint8_t* dst = out.Row(y);
    for (int x = 0; x < window.width; ++x) {
      if (xs[x] >= 0) std::memcpy(dst + x * bpp, src + static_cast<size_t>(xs[x]) * bpp, bpp);
    }
  }
  return out;
}

void PremultiplyAlpha(Image* image) {
  if (image->mode != ImageMode::kRGBA && image->mode != ImageMode::kLA) return;
  const int bpp = BytesPerPixel(image->mode);
  const size_t count = static_cast<size_t>(image->width) * image->height;
  uint8_t* p = image->pixels.data();
  for (size_t i = 0; i < count; ++i, p += bpp) {
    const int alpha = p[bpp - 1];
    for (int c = 0; c < bpp - 1; ++c) {
      const int t = p[c] * alpha + 128;  // Pillow's MULDIV255
      p[c] = static_cast<uint8_t>(((t >> 8) + t) >> 8);
    }
  }
}

void UnpremultiplyAlpha(Image* image) {
  if (image->mode != ImageMode::kRGBA && image->mode != ImageMode::kLA) return;
  const int bpp = BytesPerPixel(image->mode);
  const size_t count = static_cast<size_t>(image->width) * image->height;
  uint8_t* p = image->pixels.data();
  for (size_t i = 0; i < count; ++i, p += bpp) {
    const int alpha = p[bpp - 1];
    if (alpha == 0 || alpha == 255) continue;
    for (int c = 0; c < bpp - 1; ++c) p[c] = Clip8(255 * p[c] / alpha);
  }
}

}  // namespace mms::media::internal
