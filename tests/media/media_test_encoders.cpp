// In-memory encoders that write the test files for the decoder tests.
#include <gif_lib.h>
#include <spng.h>
#include <turbojpeg.h>
#include <webp/encode.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "media_test_util.h"

namespace mms::media::testing {

std::string EncodePng(const PngSpec& spec) {
  spng_ctx* ctx = spng_ctx_new(SPNG_CTX_ENCODER);
  EXPECT_NE(ctx, nullptr);
  EXPECT_EQ(spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1), 0);
  spng_ihdr ihdr{};
  ihdr.width = spec.width;
  ihdr.height = spec.height;
  ihdr.bit_depth = spec.bit_depth;
  ihdr.color_type = spec.color_type;
  ihdr.interlace_method = spec.interlaced ? SPNG_INTERLACE_ADAM7 : SPNG_INTERLACE_NONE;
  EXPECT_EQ(spng_set_ihdr(ctx, &ihdr), 0);
  if (!spec.palette.empty()) {
    spng_plte plte{};
    plte.n_entries = static_cast<uint32_t>(spec.palette.size() / 3);
    for (uint32_t i = 0; i < plte.n_entries; ++i) {
      plte.entries[i].red = spec.palette[3 * i];
      plte.entries[i].green = spec.palette[3 * i + 1];
      plte.entries[i].blue = spec.palette[3 * i + 2];
    }
    EXPECT_EQ(spng_set_plte(ctx, &plte), 0);
  }
  if (!spec.palette_alpha.empty()) {
    spng_trns trns{};
    trns.n_type3_entries = static_cast<uint32_t>(spec.palette_alpha.size());
    for (size_t i = 0; i < spec.palette_alpha.size(); ++i) trns.type3_alpha[i] = spec.palette_alpha[i];
    EXPECT_EQ(spng_set_trns(ctx, &trns), 0);
  }
  const int rc = spng_encode_image(ctx, spec.rows.data(), spec.rows.size(), SPNG_FMT_RAW, SPNG_ENCODE_FINALIZE);
  EXPECT_EQ(rc, 0) << spng_strerror(rc);
  size_t size = 0;
  int error = 0;
  void* buffer = spng_get_png_buffer(ctx, &size, &error);
  EXPECT_NE(buffer, nullptr) << spng_strerror(error);
  std::string png(static_cast<const char*>(buffer), size);
  std::free(buffer);
  spng_ctx_free(ctx);
  return png;
}

std::string BuildBmp(const BmpSpec& spec) {
  std::string info;
  AppendU32LE(&info, spec.header_size);
  AppendU32LE(&info, static_cast<uint32_t>(spec.width));
  AppendU32LE(&info, static_cast<uint32_t>(spec.height));
  AppendU16LE(&info, 1);  // planes
  AppendU16LE(&info, spec.bits);
  AppendU32LE(&info, spec.compression);
  AppendU32LE(&info, static_cast<uint32_t>(spec.rows.size()));
  AppendU32LE(&info, 2835);  // 72 dpi
  AppendU32LE(&info, 2835);
  AppendU32LE(&info, spec.colors_used);
  AppendU32LE(&info, 0);  // important colours
  if (spec.header_size == 124) {
    for (uint32_t mask : spec.masks) AppendU32LE(&info, mask);
    info.resize(124, '\0');  // colour space fields, all zero
  } else if (spec.compression == kBiBitfields) {
    for (int i = 0; i < 3; ++i) AppendU32LE(&info, spec.masks[i]);  // masks after the 40-byte header
  }
  std::string file = "BM";
  const uint32_t data_offset = static_cast<uint32_t>(14 + info.size() + spec.palette.size());
  AppendU32LE(&file, static_cast<uint32_t>(data_offset + spec.rows.size()));
  AppendU32LE(&file, 0);
  AppendU32LE(&file, data_offset);
  return file + info + spec.palette + spec.rows;
}

std::string EncodeJpeg(const std::vector<uint8_t>& pixels, int width, int height, int pixel_format, int subsampling,
                       int quality) {
  tjhandle handle = tjInitCompress();
  unsigned char* jpeg = nullptr;
  unsigned long size = 0;
  const int rc = tjCompress2(handle, pixels.data(), width, 0, height, pixel_format, &jpeg, &size, subsampling, quality, 0);
  EXPECT_EQ(rc, 0) << tjGetErrorStr2(handle);
  std::string out(reinterpret_cast<const char*>(jpeg), size);
  tjFree(jpeg);
  tjDestroy(handle);
  return out;
}

namespace {

int AppendToString(GifFileType* gif, const GifByteType* data, int length) {
  static_cast<std::string*>(gif->UserData)->append(reinterpret_cast<const char*>(data), static_cast<size_t>(length));
  return length;
}

// A giflib colour map from RGB triplets (the caller frees it).
ColorMapObject* MakeColorMap(const std::vector<uint8_t>& rgb) {
  if (rgb.empty()) return nullptr;
  const int count = static_cast<int>(rgb.size() / 3);
  std::vector<GifColorType> colors(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) colors[i] = GifColorType{rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]};
  ColorMapObject* map = GifMakeMapObject(count, colors.data());
  EXPECT_NE(map, nullptr) << "palette size must be a power of two";
  return map;
}

}  // namespace

std::string EncodeGif(const GifSpec& spec) {
  std::string out;
  int error = 0;
  GifFileType* gif = EGifOpen(&out, AppendToString, &error);
  EXPECT_NE(gif, nullptr);
  EGifSetGifVersion(gif, true);
  ColorMapObject* global = MakeColorMap(spec.global_palette);
  ColorMapObject* local = MakeColorMap(spec.local_palette);
  EXPECT_EQ(EGifPutScreenDesc(gif, spec.screen_width, spec.screen_height, 8, 0, global), GIF_OK);
  if (spec.transparent_index >= 0) {
    const GifByteType control[4] = {0x01, 0, 0, static_cast<GifByteType>(spec.transparent_index)};
    EXPECT_EQ(EGifPutExtension(gif, GRAPHICS_EXT_FUNC_CODE, 4, control), GIF_OK);
  }
  EXPECT_EQ(EGifPutImageDesc(gif, spec.left, spec.top, spec.width, spec.height, spec.interlaced, local), GIF_OK);
  // giflib takes the rows in storage order: pass by pass for an interlaced image.
  std::vector<int> rows;
  if (spec.interlaced) {
    for (int y = 0; y < spec.height; y += 8) rows.push_back(y);
    for (int y = 4; y < spec.height; y += 8) rows.push_back(y);
    for (int y = 2; y < spec.height; y += 4) rows.push_back(y);
    for (int y = 1; y < spec.height; y += 2) rows.push_back(y);
  } else {
    for (int y = 0; y < spec.height; ++y) rows.push_back(y);
  }
  std::vector<GifPixelType> line(static_cast<size_t>(spec.width));
  for (int y : rows) {
    std::copy_n(spec.indices.begin() + static_cast<ptrdiff_t>(y) * spec.width, spec.width, line.begin());
    EXPECT_EQ(EGifPutLine(gif, line.data(), spec.width), GIF_OK);
  }
  EXPECT_EQ(EGifCloseFile(gif, &error), GIF_OK);
  GifFreeMapObject(global);
  GifFreeMapObject(local);
  return out;
}

std::string EncodeWebpLossless(const std::vector<uint8_t>& pixels, int width, int height, int channels) {
  uint8_t* data = nullptr;
  const size_t size = channels == 4 ? WebPEncodeLosslessRGBA(pixels.data(), width, height, width * 4, &data)
                                    : WebPEncodeLosslessRGB(pixels.data(), width, height, width * 3, &data);
  EXPECT_GT(size, 0u);
  std::string out(reinterpret_cast<const char*>(data), size);
  WebPFree(data);
  return out;
}

std::string EncodeWebpLossy(const std::vector<uint8_t>& rgb, int width, int height, float quality) {
  uint8_t* data = nullptr;
  const size_t size = WebPEncodeRGB(rgb.data(), width, height, width * 3, quality, &data);
  EXPECT_GT(size, 0u);
  std::string out(reinterpret_cast<const char*>(data), size);
  WebPFree(data);
  return out;
}

}  // namespace mms::media::testing
