// PNG through libspng, mapped onto PIL's modes.
//
// libspng decodes to the file's own layout (SPNG_FMT_RAW: packed sub-byte samples,
// big-endian 16-bit samples) with no gamma or transparency applied, like PIL; the
// repacking into PIL's modes follows PngImagePlugin's table:
//   gray 1 -> "1", gray 2/4/8 -> "L" (2 and 4-bit scaled by 85 / 17), gray 16 -> "I;16",
//   RGB 8/16 -> "RGB", palette 1/2/4/8 -> "P", gray+alpha 8 -> "LA",
//   gray+alpha 16 -> "RGBA", RGBA 8/16 -> "RGBA"; 16-bit colour keeps the high byte.
#include <spng.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "media/format_decoders.h"

namespace mms::media::internal {
namespace {

constexpr const char* kFormat = "PNG";

struct SpngDeleter {
  void operator()(spng_ctx* ctx) const { spng_ctx_free(ctx); }
};

void Check(int rc, const char* step) {
  if (rc != 0) ThrowCorrupt(kFormat, std::string(step) + ": " + spng_strerror(rc));
}

int ChannelsOf(uint8_t color_type) {
  switch (color_type) {
    case SPNG_COLOR_TYPE_GRAYSCALE:
    case SPNG_COLOR_TYPE_INDEXED: return 1;
    case SPNG_COLOR_TYPE_GRAYSCALE_ALPHA: return 2;
    case SPNG_COLOR_TYPE_TRUECOLOR: return 3;
    case SPNG_COLOR_TYPE_TRUECOLOR_ALPHA: return 4;
  }
  ThrowCorrupt(kFormat, "unknown color type " + std::to_string(color_type));
}

// Sample i of a row of packed 1, 2 or 4-bit samples (most significant bits first).
inline int PackedSample(const uint8_t* row, int i, int bits) {
  const int bit_offset = i * bits;
  const int shift = 8 - bits - (bit_offset & 7);
  return (row[bit_offset >> 3] >> shift) & ((1 << bits) - 1);
}

ImageMode ModeFor(const spng_ihdr& ihdr) {
  switch (ihdr.color_type) {
    case SPNG_COLOR_TYPE_GRAYSCALE:
      if (ihdr.bit_depth == 1) return ImageMode::kBilevel;
      return ihdr.bit_depth == 16 ? ImageMode::kI16 : ImageMode::kL;
    case SPNG_COLOR_TYPE_TRUECOLOR: return ImageMode::kRGB;
    case SPNG_COLOR_TYPE_INDEXED: return ImageMode::kP;
    case SPNG_COLOR_TYPE_GRAYSCALE_ALPHA: return ihdr.bit_depth == 16 ? ImageMode::kRGBA : ImageMode::kLA;
    default: return ImageMode::kRGBA;
  }
}

// Repacks one decoded row (file layout) into the image's row (PIL layout).
void RepackRow(const spng_ihdr& ihdr, int width, const uint8_t* in, uint8_t* out) {
  const int bits = ihdr.bit_depth;
  const int channels = ChannelsOf(ihdr.color_type);
  if (bits < 8) {
    // Gray 1-bit becomes 0/255 ("1" stores bytes); gray 2/4-bit is scaled to 0..255 like
    // PIL's "L;2"/"L;4" unpackers; palette indices are kept as they are.
    const bool gray = ihdr.color_type == SPNG_COLOR_TYPE_GRAYSCALE;
    const int scale = gray ? 255 / ((1 << bits) - 1) : 1;
    for (int x = 0; x < width; ++x) out[x] = static_cast<uint8_t>(PackedSample(in, x, bits) * scale);
    return;
  }
  if (bits == 8) {
    std::memcpy(out, in, static_cast<size_t>(width) * channels);
    return;
  }
  // 16-bit samples, big-endian in the file.
  if (ihdr.color_type == SPNG_COLOR_TYPE_GRAYSCALE) {
    for (int x = 0; x < width; ++x) {  // "I;16" is little-endian
      out[2 * x] = in[2 * x + 1];
      out[2 * x + 1] = in[2 * x];
    }
  } else if (ihdr.color_type == SPNG_COLOR_TYPE_GRAYSCALE_ALPHA) {
    for (int x = 0; x < width; ++x, in += 4, out += 4) {  // PIL's "LA;16B" -> RGBA
      out[0] = out[1] = out[2] = in[0];
      out[3] = in[2];
    }
  } else {
    const size_t samples = static_cast<size_t>(width) * channels;
    for (size_t i = 0; i < samples; ++i) out[i] = in[2 * i];  // high byte
  }
}

void ReadPalette(spng_ctx* ctx, Image* image) {
  spng_plte plte{};
  Check(spng_get_plte(ctx, &plte), "palette image without PLTE chunk");
  for (uint32_t i = 0; i < plte.n_entries && i < 256; ++i) {
    image->palette[3 * i + 0] = plte.entries[i].red;
    image->palette[3 * i + 1] = plte.entries[i].green;
    image->palette[3 * i + 2] = plte.entries[i].blue;
  }
  spng_trns trns{};
  if (spng_get_trns(ctx, &trns) == 0 && trns.n_type3_entries > 0) {
    image->palette_alpha.assign(256, 255);
    for (uint32_t i = 0; i < trns.n_type3_entries && i < 256; ++i) image->palette_alpha[i] = trns.type3_alpha[i];
  }
}

}  // namespace

Image DecodePng(std::string_view bytes, const DecodeLimits& limits) {
  std::unique_ptr<spng_ctx, SpngDeleter> ctx(spng_ctx_new(0));
  if (!ctx) ThrowCorrupt(kFormat, "cannot create decoder");
  // Ancillary chunks (text, ICC profiles) are capped so that a compressed chunk cannot
  // balloon in memory; the pixel budget is checked from IHDR below.
  constexpr size_t kChunkLimit = 64u << 20;
  Check(spng_set_chunk_limits(ctx.get(), kChunkLimit, kChunkLimit), "set chunk limits");
  Check(spng_set_png_buffer(ctx.get(), bytes.data(), bytes.size()), "read");

  spng_ihdr ihdr{};
  Check(spng_get_ihdr(ctx.get(), &ihdr), "bad header");
  CheckDimensions(kFormat, ihdr.width, ihdr.height, limits);
  const int width = static_cast<int>(ihdr.width);
  const int height = static_cast<int>(ihdr.height);

  Image image(ModeFor(ihdr), width, height);
  if (image.mode == ImageMode::kP) ReadPalette(ctx.get(), &image);

  size_t decoded_size = 0;
  Check(spng_decoded_image_size(ctx.get(), SPNG_FMT_RAW, &decoded_size), "image size");
  const bool same_layout = ihdr.bit_depth == 8;  // 8-bit samples are already PIL's layout
  if (same_layout && decoded_size == image.pixels.size()) {
    Check(spng_decode_image(ctx.get(), image.pixels.data(), decoded_size, SPNG_FMT_RAW, 0), "decoding failed");
    return image;
  }
  std::vector<uint8_t> raw(decoded_size);
  Check(spng_decode_image(ctx.get(), raw.data(), raw.size(), SPNG_FMT_RAW, 0), "decoding failed");
  const size_t raw_stride = decoded_size / static_cast<size_t>(height);
  for (int y = 0; y < height; ++y) RepackRow(ihdr, width, raw.data() + y * raw_stride, image.Row(y));
  return image;
}

}  // namespace mms::media::internal
