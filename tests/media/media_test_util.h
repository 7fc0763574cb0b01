// Helpers shared by the media tests: building files in memory and checking error codes.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "base/error.h"
#include "media/image.h"

namespace mms::media::testing {

// Runs `fn` and returns the code of the mms::Error it throws; fails the test if it throws
// nothing or something else.
inline ErrorCode ErrorCodeOf(const std::function<void()>& fn, std::string* message = nullptr) {
  try {
    fn();
  } catch (const Error& e) {
    if (message) *message = e.what();
    return e.code();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw a non-mms exception: " << e.what();
    return ErrorCode::kInternal;
  }
  ADD_FAILURE() << "did not throw";
  return ErrorCode::kInternal;
}

inline void AppendU16LE(std::string* s, uint32_t v) {
  s->push_back(static_cast<char>(v & 0xFF));
  s->push_back(static_cast<char>((v >> 8) & 0xFF));
}
inline void AppendU32LE(std::string* s, uint32_t v) {
  AppendU16LE(s, v & 0xFFFF);
  AppendU16LE(s, v >> 16);
}
inline void AppendU32BE(std::string* s, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) s->push_back(static_cast<char>((v >> shift) & 0xFF));
}

// CRC-32 as PNG uses it (for hand-built chunks).
inline uint32_t Crc32(const std::string& bytes) {
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char byte : bytes) {
    crc ^= byte;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return crc ^ 0xFFFFFFFFu;
}

// The pixel at (x, y) as a vector of its bytes.
inline std::vector<int> PixelAt(const Image& image, int x, int y) {
  const int bpp = BytesPerPixel(image.mode);
  const uint8_t* p = image.Row(y) + static_cast<size_t>(x) * bpp;
  return std::vector<int>(p, p + bpp);
}

// ---- In-memory encoders for test files (media_test_encoders.cpp) ----

struct PngSpec {
  uint32_t width = 0, height = 0;
  uint8_t bit_depth = 8;
  uint8_t color_type = 2;              // PNG colour type: 0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA
  std::vector<uint8_t> rows;           // file layout: packed / big-endian samples, no filter bytes
  bool interlaced = false;
  std::vector<uint8_t> palette;        // RGB triplets
  std::vector<uint8_t> palette_alpha;  // tRNS for palette images
};
inline PngSpec Png(uint32_t width, uint32_t height, uint8_t bit_depth, uint8_t color_type, std::vector<uint8_t> rows) {
  PngSpec spec;
  spec.width = width;
  spec.height = height;
  spec.bit_depth = bit_depth;
  spec.color_type = color_type;
  spec.rows = std::move(rows);
  return spec;
}
std::string EncodePng(const PngSpec& spec);  // libspng's encoder

constexpr uint32_t kBiRgb = 0, kBiRle8 = 1, kBiBitfields = 3;
struct BmpSpec {
  int32_t width = 0;
  int32_t height = 0;  // negative: rows stored top-down
  uint16_t bits = 24;
  uint32_t compression = kBiRgb;
  uint32_t header_size = 40;  // 40 (BITMAPINFOHEADER) or 124 (BITMAPV5HEADER)
  uint32_t masks[4] = {0, 0, 0, 0};
  uint32_t colors_used = 0;
  std::string palette;  // BGRX entries
  std::string rows;     // as stored, padded to 4 bytes
};
std::string BuildBmp(const BmpSpec& spec);  // byte by byte

// TurboJPEG's encoder; pixel_format is a TJPF_* value, subsampling a TJSAMP_* value.
std::string EncodeJpeg(const std::vector<uint8_t>& pixels, int width, int height, int pixel_format, int subsampling,
                       int quality);

struct GifSpec {
  int screen_width = 0, screen_height = 0;
  std::vector<uint8_t> global_palette;  // RGB triplets, a power of two of them; empty: none
  int left = 0, top = 0, width = 0, height = 0;
  std::vector<uint8_t> local_palette;   // RGB triplets; empty: none
  bool interlaced = false;
  int transparent_index = -1;           // graphic control extension when >= 0
  std::vector<uint8_t> indices;         // width * height, top row first
};
std::string EncodeGif(const GifSpec& spec);  // giflib's encoder

// libwebp's encoders; channels is 3 (RGB) or 4 (RGBA). Lossless decodes back exactly
// (keep alpha above 0: the encoder may rewrite the colour of fully transparent pixels).
std::string EncodeWebpLossless(const std::vector<uint8_t>& pixels, int width, int height, int channels);
std::string EncodeWebpLossy(const std::vector<uint8_t>& rgb, int width, int height, float quality);

}  // namespace mms::media::testing
