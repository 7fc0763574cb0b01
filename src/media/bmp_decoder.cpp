// Windows BMP, uncompressed, following PIL's BmpImagePlugin.
//
// Supported: 24-bit, 32-bit (BI_RGB: the fourth byte is ignored and the image is RGB, as
// in PIL; BI_BITFIELDS with byte-aligned masks: RGBA when there is an alpha mask), and
// 1/4/8-bit palette images. Rows are bottom-up unless the height is negative, and padded
// to 4 bytes. A palette that is the identity gray ramp makes the image "L" (8-bit) or
// "1" (1-bit black/white), as in PIL. RLE, 16-bit, JPEG/PNG-in-BMP are rejected.
#include <cstring>
#include <string>

#include "media/format_decoders.h"

namespace mms::media::internal {
namespace {

constexpr const char* kFormat = "BMP";
constexpr size_t kFileHeaderSize = 14;

enum Compression : uint32_t { kRaw = 0, kRle8 = 1, kRle4 = 2, kBitfields = 3 };

class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  bool Has(size_t offset, size_t size) const { return offset <= bytes_.size() && size <= bytes_.size() - offset; }
  uint32_t U32(size_t offset) const {
    Need(offset, 4);
    const auto* p = reinterpret_cast<const uint8_t*>(bytes_.data() + offset);
    return p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<uint32_t>(p[3]) << 24);
  }
  uint16_t U16(size_t offset) const {
    Need(offset, 2);
    const auto* p = reinterpret_cast<const uint8_t*>(bytes_.data() + offset);
    return static_cast<uint16_t>(p[0] | (p[1] << 8));
  }
  const uint8_t* At(size_t offset, size_t size) const {
    Need(offset, size);
    return reinterpret_cast<const uint8_t*>(bytes_.data() + offset);
  }

 private:
  void Need(size_t offset, size_t size) const {
    if (!Has(offset, size)) ThrowCorrupt(kFormat, "truncated file (need " + std::to_string(size) + " bytes at offset " + std::to_string(offset) + ")");
  }
  std::string_view bytes_;
};

struct Header {
  int64_t width = 0;
  int64_t height = 0;
  bool top_down = false;
  int bits = 0;
  uint32_t compression = kRaw;
  uint32_t colors = 0;
  int palette_entry_size = 4;  // BGRX; 3 (BGR) in the OS/2 core header
  uint32_t masks[4] = {0, 0, 0, 0};  // r, g, b, a for BI_BITFIELDS
  size_t end = 0;  // offset just past the header (and the bitfield masks stored after it)
};

Header ReadHeader(const Reader& in) {
  Header h;
  const uint32_t size = in.U32(kFileHeaderSize);
  const size_t base = kFileHeaderSize + 4;  // fields after the header-size word
  if (size == 12) {  // BITMAPCOREHEADER (OS/2 1.x): 16-bit unsigned sizes
    h.width = in.U16(base);
    h.height = in.U16(base + 2);
    h.bits = in.U16(base + 6);
    h.palette_entry_size = 3;
  } else if (size == 40 || size == 52 || size == 56 || size == 64 || size == 108 || size == 124) {
    in.At(kFileHeaderSize, size);
    h.width = static_cast<int32_t>(in.U32(base));
    const int32_t height = static_cast<int32_t>(in.U32(base + 4));
    h.top_down = height < 0;
    h.height = h.top_down ? -static_cast<int64_t>(height) : height;
    h.bits = in.U16(base + 10);
    h.compression = in.U32(base + 12);
    h.colors = in.U32(base + 28);
    if (h.compression == kBitfields) {
      if (size >= 52) {  // masks inside the header (V2+); alpha from V3 on
        for (int i = 0; i < (size >= 56 ? 4 : 3); ++i) h.masks[i] = in.U32(base + 36 + 4 * i);
      } else {  // BITMAPINFOHEADER: three masks follow the header
        for (int i = 0; i < 3; ++i) h.masks[i] = in.U32(kFileHeaderSize + size + 4 * i);
      }
    }
  } else {
    ThrowCorrupt(kFormat, "unsupported header size " + std::to_string(size));
  }
  h.end = kFileHeaderSize + size;
  return h;
}

// Byte position (0-3) of an 8-bit mask within a little-endian 32-bit pixel, or -1.
int MaskByte(uint32_t mask) {
  for (int i = 0; i < 4; ++i) {
    if (mask == (0xFFu << (8 * i))) return i;
  }
  return -1;
}

struct PixelLayout {
  ImageMode mode = ImageMode::kRGB;
  int byte_of[4] = {2, 1, 0, -1};  // source byte of R, G, B, A within a pixel (BGR order)
};

PixelLayout LayoutFor(const Header& h) {
  PixelLayout layout;
  if (h.bits == 24 && (h.compression == kRaw ||
                       (h.compression == kBitfields && h.masks[0] == 0xFF0000 && h.masks[1] == 0xFF00 && h.masks[2] == 0xFF))) {
    return layout;
  }
  if (h.bits == 32 && h.compression == kRaw) return layout;  // BGRX: PIL ignores the fourth byte
  if (h.bits == 32 && h.compression == kBitfields) {
    if (h.masks[0] == 0 && h.masks[1] == 0 && h.masks[2] == 0 && h.masks[3] == 0) {
      layout.mode = ImageMode::kRGBA;  // PIL reads all-zero masks as BGRA
      layout.byte_of[3] = 3;
      return layout;
    }
    bool used[4] = {false, false, false, false};
    bool ok = true;
    for (int c = 0; c < 4; ++c) {
      if (c == 3 && h.masks[3] == 0) break;
      const int b = MaskByte(h.masks[c]);
      if (b < 0 || used[b]) {
        ok = false;
        break;
      }
      used[b] = true;
      layout.byte_of[c] = b;
    }
    if (ok) {
      layout.mode = h.masks[3] != 0 ? ImageMode::kRGBA : ImageMode::kRGB;
      return layout;
    }
    ThrowCorrupt(kFormat, "unsupported 32-bit bitfield masks");
  }
  if (h.compression == kRle8 || h.compression == kRle4) ThrowCorrupt(kFormat, "RLE-compressed bitmaps are not supported");
  if (h.compression != kRaw && h.compression != kBitfields) {
    ThrowCorrupt(kFormat, "unsupported compression " + std::to_string(h.compression));
  }
  ThrowCorrupt(kFormat, "unsupported pixel depth " + std::to_string(h.bits) + " bits");
}

// Reads the palette of a 1/4/8-bit image; returns the mode PIL would give it.
ImageMode ReadPalette(const Reader& in, const Header& h, uint32_t colors, Image* image) {
  const uint8_t* entries = in.At(h.end, static_cast<size_t>(colors) * h.palette_entry_size);
  bool gray_ramp = true;  // PIL's test: entry i == (v, v, v) with v = i, or 0 and 255 for 2 colours
  for (uint32_t i = 0; i < colors; ++i) {
    const uint8_t* bgr = entries + i * h.palette_entry_size;
    image->palette[3 * i + 0] = bgr[2];
    image->palette[3 * i + 1] = bgr[1];
    image->palette[3 * i + 2] = bgr[0];
    const uint32_t v = colors == 2 ? (i == 0 ? 0 : 255) : i;
    if (bgr[0] != v || bgr[1] != v || bgr[2] != v) gray_ramp = false;
  }
  // PIL switches to "1"/"L" only where its raw unpacker then reads the data right
  // (1-bit black/white, 8-bit ramps); other gray ramps stay "P", which converts the same.
  if (gray_ramp && h.bits == 1 && colors == 2) return ImageMode::kBilevel;
  if (gray_ramp && h.bits == 8 && colors != 2) return ImageMode::kL;
  return ImageMode::kP;
}

}  // namespace

Image DecodeBmp(std::string_view bytes, const DecodeLimits& limits) {
  const Reader in(bytes);
  if (!in.Has(0, kFileHeaderSize + 4)) ThrowCorrupt(kFormat, "truncated file header");
  const uint32_t data_offset = in.U32(10);
  const Header h = ReadHeader(in);

  const bool palette_image = h.bits == 1 || h.bits == 4 || h.bits == 8;
  PixelLayout layout;
  uint32_t colors = 0;
  if (palette_image) {
    if (h.compression == kRle8 || h.compression == kRle4) ThrowCorrupt(kFormat, "RLE-compressed bitmaps are not supported");
    if (h.compression != kRaw) ThrowCorrupt(kFormat, "unsupported compression " + std::to_string(h.compression) + " for a palette image");
    colors = h.colors != 0 ? h.colors : (1u << h.bits);
    if (colors > 256) ThrowCorrupt(kFormat, "palette of " + std::to_string(colors) + " colours");
  } else {
    layout = LayoutFor(h);
  }
  CheckDimensions(kFormat, h.width, h.height, limits);
  const int width = static_cast<int>(h.width);
  const int height = static_cast<int>(h.height);

  // Each row is padded to a multiple of 4 bytes. Like PIL, a file that ends before the
  // last padded row is truncated.
  const uint64_t stride = ((static_cast<uint64_t>(width) * h.bits + 31) >> 3) & ~uint64_t{3};
  size_t offset = data_offset;
  if (palette_image && offset == h.end) offset += static_cast<size_t>(colors) * h.palette_entry_size;  // PIL's fix-up
  if (stride * static_cast<uint64_t>(height) > bytes.size() || !in.Has(offset, stride * height)) {
    ThrowCorrupt(kFormat, "truncated pixel data (" + std::to_string(height) + " rows of " + std::to_string(stride) +
                              " bytes from offset " + std::to_string(offset) + ", file is " + std::to_string(bytes.size()) + " bytes)");
  }

  Image image(palette_image ? ImageMode::kP : layout.mode, width, height);
  if (palette_image) image.mode = ReadPalette(in, h, colors, &image);
  if (image.mode != ImageMode::kP) image.palette.clear();

  const uint8_t* data = in.At(offset, stride * height);
  const int pixel_bytes = h.bits / 8;
  const int channels = BytesPerPixel(image.mode);
  for (int y = 0; y < height; ++y) {
    const uint8_t* src = data + stride * static_cast<uint64_t>(h.top_down ? y : height - 1 - y);
    uint8_t* dst = image.Row(y);
    if (palette_image) {
      const int mask = (1 << h.bits) - 1;
      for (int x = 0; x < width; ++x) {
        const int bit = x * h.bits;
        const int index = (src[bit >> 3] >> (8 - h.bits - (bit & 7))) & mask;
        dst[x] = static_cast<uint8_t>(image.mode == ImageMode::kBilevel ? (index ? 255 : 0) : index);
      }
      continue;
    }
    for (int x = 0; x < width; ++x, src += pixel_bytes, dst += channels) {
      for (int c = 0; c < channels; ++c) dst[c] = src[layout.byte_of[c]];
    }
  }
  return image;
}

}  // namespace mms::media::internal
