// A decoded image that remembers what PIL would call its "mode".
//
// CLIP preprocessing has to match PIL (Pillow) bit for bit, and PIL's results depend on
// the mode an image was opened in: palette and 1-bit images are resized nearest-neighbour,
// RGBA and LA are resized with premultiplied alpha, 16-bit grayscale is resized at 16 bits
// and then clamped (not scaled) to 8 bits. So the decoders keep the source mode here
// instead of converting everything to RGB up front.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace mms::media {

// PIL modes that the decoders produce. Storage is interleaved 8-bit channels unless noted.
enum class ImageMode : uint8_t {
  kBilevel,  // "1": one byte per pixel holding 0 or 255 (PIL stores "1" the same way)
  kL,        // "L": 8-bit grayscale
  kLA,       // "LA": grayscale + alpha, two bytes per pixel
  kP,        // "P": one palette index per pixel; see Image::palette
  kRGB,      // "RGB"
  kRGBA,     // "RGBA": straight (not premultiplied) alpha
  kI16,      // "I;16": 16-bit grayscale, two bytes per pixel, little-endian
  kCMYK,     // "CMYK": as PIL holds a 4-channel JPEG (libjpeg's values inverted, "CMYK;I")
};

// PIL's name for the mode ("1", "L", "LA", "P", "RGB", "RGBA", "I;16", "CMYK").
const char* ImageModeName(ImageMode mode);

// Bytes per pixel in Image::pixels.
int BytesPerPixel(ImageMode mode);

struct Image {
  ImageMode mode = ImageMode::kRGB;
  int width = 0;
  int height = 0;
  // Rows top to bottom, no padding: stride() bytes per row.
  std::vector<uint8_t> pixels;
  // kP only: 256 RGB triplets (768 bytes). Entries the file does not define are black,
  // as in Pillow (whose palette starts zeroed).
  std::vector<uint8_t> palette;
  // kP only, optional: alpha of each of the 256 entries (PNG tRNS, GIF transparent index).
  // Informational: PIL's convert("RGB") ignores palette transparency and so do we.
  std::vector<uint8_t> palette_alpha;

  Image() = default;
  // Zero-filled pixels; a kP image also gets an all-black palette.
  Image(ImageMode mode, int width, int height);

  size_t stride() const { return static_cast<size_t>(width) * BytesPerPixel(mode); }
  // Whether the buffers agree with the size and mode (pixels height * stride() bytes, a
  // 768-byte palette for kP). Images from DecodeImage always are.
  bool IsConsistent() const;
  uint8_t* Row(int y) { return pixels.data() + static_cast<size_t>(y) * stride(); }
  const uint8_t* Row(int y) const { return pixels.data() + static_cast<size_t>(y) * stride(); }
};

// PIL's image.convert("RGB"): alpha dropped (not composited), palette looked up, L and LA
// replicated, 1-bit to 0/255, I;16 clamped to 255 (PIL clamps rather than scales),
// CMYK with PIL's formula. An RGB image is returned as a copy. An inconsistent image ->
// Error(kInvalidArgument).
Image ConvertToRGB(const Image& image);

// Converts `count` pixels of row `y` starting at column `x` to RGB into `rgb` (3 * count
// bytes), with the same rules as ConvertToRGB. The image must be consistent and the span
// inside it (not checked: this is the per-row inner step).
void ConvertRowToRGB(const Image& image, int y, int x, int count, uint8_t* rgb);

}  // namespace mms::media
