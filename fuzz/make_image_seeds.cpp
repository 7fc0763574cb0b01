// Writes the image decoders' seed corpora (fuzz/corpus/<format>_decoder/): small images
// in every layout each decoder has a path for, made with the libraries' own encoders
// (through the decoder tests' helpers, tests/media/media_test_encoders.cpp) so that each
// seed is a file real software writes. Small on purpose: a fuzzer mutates a 300-byte
// image many more times per second than a 300 KB one, and reaches the same code.
//
//   cmake --build build-fuzz --target make_image_seeds && build-fuzz/fuzz/make_image_seeds fuzz/corpus
#include <turbojpeg.h>
#include <webp/encode.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "media_test_util.h"

namespace fs = std::filesystem;
using namespace mms::media::testing;

namespace {

fs::path g_root;

void Write(const std::string& harness, const std::string& name, const std::string& bytes) {
  fs::create_directories(g_root / harness);
  std::ofstream(g_root / harness / name, std::ios::binary) << bytes;
  std::printf("%s/%s: %zu bytes\n", harness.c_str(), name.c_str(), bytes.size());
}

// A smooth gradient with some edges: compresses like a photo, not like a flat colour.
std::vector<uint8_t> Pixels(int width, int height, int channels) {
  std::vector<uint8_t> p(static_cast<size_t>(width) * height * channels);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      for (int c = 0; c < channels; ++c) {
        const int v = (x * 255 / width + y * 37 * (c + 1) + ((x / 4 + y / 4) % 2) * 60) & 0xFF;
        p[(static_cast<size_t>(y) * width + x) * channels + c] = static_cast<uint8_t>(c == 3 ? 64 + v / 2 : v);
      }
    }
  }
  return p;
}

std::vector<uint8_t> Palette(int entries) {
  std::vector<uint8_t> rgb;
  for (int i = 0; i < entries; ++i) {
    rgb.push_back(static_cast<uint8_t>(i * 255 / std::max(entries - 1, 1)));
    rgb.push_back(static_cast<uint8_t>(255 - i * 7));
    rgb.push_back(static_cast<uint8_t>(i * 31));
  }
  return rgb;
}

void Jpegs() {
  const int w = 24, h = 16;
  Write("jpeg_decoder", "rgb_420.jpg", EncodeJpeg(Pixels(w, h, 3), w, h, TJPF_RGB, TJSAMP_420, 75));
  Write("jpeg_decoder", "rgb_444.jpg", EncodeJpeg(Pixels(w, h, 3), w, h, TJPF_RGB, TJSAMP_444, 90));
  Write("jpeg_decoder", "rgb_422.jpg", EncodeJpeg(Pixels(w, h, 3), w, h, TJPF_RGB, TJSAMP_422, 60));
  Write("jpeg_decoder", "rgb_411_odd.jpg", EncodeJpeg(Pixels(13, 7, 3), 13, 7, TJPF_RGB, TJSAMP_411, 80));
  Write("jpeg_decoder", "gray.jpg", EncodeJpeg(Pixels(w, h, 1), w, h, TJPF_GRAY, TJSAMP_GRAY, 75));
  Write("jpeg_decoder", "cmyk.jpg", EncodeJpeg(Pixels(w, h, 4), w, h, TJPF_CMYK, TJSAMP_444, 75));
  // Progressive scans take another path through libjpeg (coefficient buffering).
  tjhandle handle = tjInitCompress();
  unsigned char* jpeg = nullptr;
  unsigned long size = 0;
  const auto rgb = Pixels(w, h, 3);
  if (tjCompress2(handle, rgb.data(), w, 0, h, TJPF_RGB, &jpeg, &size, TJSAMP_420, 75, TJFLAG_PROGRESSIVE) == 0) {
    Write("jpeg_decoder", "progressive.jpg", std::string(reinterpret_cast<const char*>(jpeg), size));
  }
  tjFree(jpeg);
  tjDestroy(handle);
}

std::vector<uint8_t> PackedRows(int width, int height, int bits, int channels) {
  const size_t row_bytes = (static_cast<size_t>(width) * bits * channels + 7) / 8;
  std::vector<uint8_t> rows(row_bytes * height);
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<uint8_t>(i * 29 + (i / row_bytes) * 7);
  return rows;
}

void Pngs() {
  const int w = 12, h = 9;
  for (int bits : {1, 2, 4, 8, 16}) {
    Write("png_decoder", "gray" + std::to_string(bits) + ".png", EncodePng(Png(w, h, bits, 0, PackedRows(w, h, bits, 1))));
  }
  Write("png_decoder", "rgb8.png", EncodePng(Png(w, h, 8, 2, PackedRows(w, h, 8, 3))));
  Write("png_decoder", "rgb16.png", EncodePng(Png(w, h, 16, 2, PackedRows(w, h, 16, 3))));
  Write("png_decoder", "gray_alpha8.png", EncodePng(Png(w, h, 8, 4, PackedRows(w, h, 8, 2))));
  Write("png_decoder", "gray_alpha16.png", EncodePng(Png(w, h, 16, 4, PackedRows(w, h, 16, 2))));
  Write("png_decoder", "rgba8.png", EncodePng(Png(w, h, 8, 6, PackedRows(w, h, 8, 4))));
  Write("png_decoder", "rgba16.png", EncodePng(Png(w, h, 16, 6, PackedRows(w, h, 16, 4))));
  PngSpec palette = Png(w, h, 4, 3, PackedRows(w, h, 4, 1));
  palette.palette = Palette(16);
  palette.palette_alpha = {0, 128, 255};
  Write("png_decoder", "palette4_trns.png", EncodePng(palette));
  PngSpec interlaced = Png(w, h, 8, 2, PackedRows(w, h, 8, 3));
  interlaced.interlaced = true;
  Write("png_decoder", "rgb8_interlaced.png", EncodePng(interlaced));
}

std::string PaddedRows(int width, int height, int bits) {
  const size_t stride = ((static_cast<size_t>(width) * bits + 31) / 32) * 4;
  std::string rows(stride * height, '\0');
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<char>(i * 13 + 5);
  return rows;
}

std::string BgrxPalette(int entries) {
  std::string p;
  const auto rgb = Palette(entries);
  for (int i = 0; i < entries; ++i) p += std::string{static_cast<char>(rgb[3 * i + 2]), static_cast<char>(rgb[3 * i + 1]),
                                                     static_cast<char>(rgb[3 * i]), '\0'};
  return p;
}

void Bmps() {
  const int w = 10, h = 6;
  for (int bits : {1, 4, 8}) {
    BmpSpec s;
    s.width = w;
    s.height = h;
    s.bits = static_cast<uint16_t>(bits);
    s.colors_used = 1u << bits;
    s.palette = BgrxPalette(1 << bits);
    s.rows = PaddedRows(w, h, bits);
    Write("bmp_decoder", "palette" + std::to_string(bits) + ".bmp", BuildBmp(s));
  }
  BmpSpec rgb;
  rgb.width = w;
  rgb.height = -h;  // top-down
  rgb.bits = 24;
  rgb.rows = PaddedRows(w, h, 24);
  Write("bmp_decoder", "rgb24_top_down.bmp", BuildBmp(rgb));
  BmpSpec rgbx = rgb;
  rgbx.height = h;
  rgbx.bits = 32;
  rgbx.rows = PaddedRows(w, h, 32);
  Write("bmp_decoder", "rgb32.bmp", BuildBmp(rgbx));
  BmpSpec fields = rgbx;
  fields.compression = kBiBitfields;
  fields.header_size = 124;
  fields.masks[0] = 0x00FF0000;
  fields.masks[1] = 0x0000FF00;
  fields.masks[2] = 0x000000FF;
  fields.masks[3] = 0xFF000000;
  Write("bmp_decoder", "rgba32_v5_bitfields.bmp", BuildBmp(fields));
  BmpSpec rle;
  rle.width = w;
  rle.height = h;
  rle.bits = 8;
  rle.compression = kBiRle8;
  rle.colors_used = 4;
  rle.palette = BgrxPalette(4);
  // Encoded runs, an absolute run, a delta, end of line and end of bitmap.
  rle.rows = std::string("\x04\x01\x00\x03\x02\x03\x01\x00\x00\x04\x00\x02\x01\x01\x00\x00\x06\x02\x00\x01", 20);
  Write("bmp_decoder", "rle8.bmp", BuildBmp(rle));
}

void Webps() {
  const int w = 16, h = 12;
  Write("webp_decoder", "lossy.webp", EncodeWebpLossy(Pixels(w, h, 3), w, h, 50));
  Write("webp_decoder", "lossless_rgb.webp", EncodeWebpLossless(Pixels(w, h, 3), w, h, 3));
  Write("webp_decoder", "lossless_rgba.webp", EncodeWebpLossless(Pixels(w, h, 4), w, h, 4));
  // Lossy with an alpha plane: the extended (VP8X) layout with an ALPH chunk.
  uint8_t* data = nullptr;
  const auto rgba = Pixels(w, h, 4);
  const size_t size = WebPEncodeRGBA(rgba.data(), w, h, w * 4, 50, &data);
  if (size > 0) Write("webp_decoder", "lossy_alpha.webp", std::string(reinterpret_cast<const char*>(data), size));
  WebPFree(data);
}

void Gifs() {
  GifSpec g;
  g.screen_width = 12;
  g.screen_height = 8;
  g.global_palette = Palette(8);
  g.width = 12;
  g.height = 8;
  for (int i = 0; i < g.width * g.height; ++i) g.indices.push_back(static_cast<uint8_t>((i / 3) % 8));
  Write("gif_decoder", "global_palette.gif", EncodeGif(g));
  GifSpec local = g;
  local.global_palette.clear();
  local.local_palette = Palette(4);
  for (auto& i : local.indices) i %= 4;
  local.interlaced = true;
  Write("gif_decoder", "local_palette_interlaced.gif", EncodeGif(local));
  GifSpec offset = g;
  offset.screen_width = 16;
  offset.screen_height = 10;
  offset.left = 3;
  offset.top = 1;
  offset.transparent_index = 2;
  Write("gif_decoder", "offset_transparent.gif", EncodeGif(offset));
  GifSpec gray = g;
  gray.global_palette.clear();
  for (int i = 0; i < 256; ++i) gray.global_palette.insert(gray.global_palette.end(), 3, static_cast<uint8_t>(i));
  for (size_t i = 0; i < gray.indices.size(); ++i) gray.indices[i] = static_cast<uint8_t>(i * 2);
  Write("gif_decoder", "gray_ramp.gif", EncodeGif(gray));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR (fuzz/corpus)\n", argv[0]);
    return 2;
  }
  g_root = argv[1];
  Jpegs();
  Pngs();
  Bmps();
  Webps();
  Gifs();
  return ::testing::Test::HasFailure() ? 1 : 0;
}
