// GIF through giflib: the first frame only, laid out as PIL's GifImagePlugin does.
//
// The image is "P" with the frame's palette (local, else global), or "L" when there is no
// palette or it is the identity gray ramp (PIL drops such palettes). The canvas is the
// logical screen, grown to hold the frame if the frame sticks out; pixels outside the
// frame are the transparent index when the frame has one, else 0 -- PIL's fill for frame 0.
#include <gif_lib.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "media/format_decoders.h"

namespace mms::media::internal {
namespace {

constexpr const char* kFormat = "GIF";
constexpr int kGraphicsControlTransparentFlag = 0x01;

struct MemorySource {
  const uint8_t* data;
  size_t size;
  size_t position;
};

int ReadFromMemory(GifFileType* gif, GifByteType* out, int length) {
  auto* source = static_cast<MemorySource*>(gif->UserData);
  const size_t available = source->size - source->position;
  const size_t n = length < 0 ? 0 : std::min(static_cast<size_t>(length), available);
  std::memcpy(out, source->data + source->position, n);
  source->position += n;
  return static_cast<int>(n);
}

struct GifCloser {
  void operator()(GifFileType* gif) const {
    int error = 0;
    DGifCloseFile(gif, &error);
  }
};
using GifHandle = std::unique_ptr<GifFileType, GifCloser>;

[[noreturn]] void ThrowGifError(const char* step, int error) {
  const char* message = GifErrorString(error);
  ThrowCorrupt(kFormat, std::string(step) + ": " + (message ? message : "unknown error"));
}

// PIL keeps a palette only if some entry i differs from (i, i, i).
bool IsGrayRamp(const ColorMapObject* map) {
  for (int i = 0; i < map->ColorCount; ++i) {
    const GifColorType& c = map->Colors[i];
    if (c.Red != i || c.Green != i || c.Blue != i) return false;
  }
  return true;
}

// Reads the extension blocks before the first image; returns the transparent index of
// the frame's graphic control extension, or -1.
int ReadExtension(GifFileType* gif, int transparent_index) {
  int code = 0;
  GifByteType* block = nullptr;
  if (DGifGetExtension(gif, &code, &block) != GIF_OK) ThrowGifError("bad extension block", gif->Error);
  if (code == GRAPHICS_EXT_FUNC_CODE && block != nullptr && block[0] >= 4) {
    transparent_index = (block[1] & kGraphicsControlTransparentFlag) ? block[4] : -1;
  }
  while (block != nullptr) {
    if (DGifGetExtensionNext(gif, &block) != GIF_OK) ThrowGifError("bad extension block", gif->Error);
  }
  return transparent_index;
}

// Row order of an interlaced frame: every 8th row from 0, every 8th from 4, every 4th
// from 2, every 2nd from 1.
std::vector<int> RowOrder(int height, bool interlaced) {
  std::vector<int> rows;
  rows.reserve(static_cast<size_t>(height));
  if (!interlaced) {
    for (int y = 0; y < height; ++y) rows.push_back(y);
    return rows;
  }
  const int starts[4] = {0, 4, 2, 1};
  const int steps[4] = {8, 8, 4, 2};
  for (int pass = 0; pass < 4; ++pass) {
    for (int y = starts[pass]; y < height; y += steps[pass]) rows.push_back(y);
  }
  return rows;
}

Image DecodeFirstFrame(GifFileType* gif, int transparent_index, const DecodeLimits& limits) {
  if (DGifGetImageDesc(gif) != GIF_OK) ThrowGifError("bad image descriptor", gif->Error);
  const GifImageDesc& frame = gif->Image;
  CheckDimensions(kFormat, frame.Width, frame.Height, limits);
  const int64_t canvas_width = std::max<int64_t>(gif->SWidth, int64_t{frame.Left} + frame.Width);
  const int64_t canvas_height = std::max<int64_t>(gif->SHeight, int64_t{frame.Top} + frame.Height);
  CheckDimensions(kFormat, canvas_width, canvas_height, limits);

  const ColorMapObject* map = frame.ColorMap != nullptr ? frame.ColorMap : gif->SColorMap;
  const bool has_palette = map != nullptr && !IsGrayRamp(map);
  Image image(has_palette ? ImageMode::kP : ImageMode::kL, static_cast<int>(canvas_width), static_cast<int>(canvas_height));
  if (has_palette) {
    for (int i = 0; i < map->ColorCount && i < 256; ++i) {
      image.palette[3 * i + 0] = map->Colors[i].Red;
      image.palette[3 * i + 1] = map->Colors[i].Green;
      image.palette[3 * i + 2] = map->Colors[i].Blue;
    }
    if (transparent_index >= 0) {
      image.palette_alpha.assign(256, 255);
      image.palette_alpha[transparent_index] = 0;
    }
  }
  if (transparent_index > 0) std::memset(image.pixels.data(), transparent_index, image.pixels.size());

  std::vector<GifPixelType> line(static_cast<size_t>(frame.Width));
  for (int row : RowOrder(frame.Height, frame.Interlace)) {
    if (DGifGetLine(gif, line.data(), frame.Width) != GIF_OK) ThrowGifError("decoding failed", gif->Error);
    std::memcpy(image.Row(frame.Top + row) + frame.Left, line.data(), line.size());
  }
  return image;
}

}  // namespace

Image DecodeGif(std::string_view bytes, const DecodeLimits& limits) {
  MemorySource source{reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), 0};
  int error = 0;
  GifHandle gif(DGifOpen(&source, ReadFromMemory, &error));
  if (!gif) ThrowGifError("bad header", error);

  int transparent_index = -1;
  for (;;) {
    GifRecordType record = UNDEFINED_RECORD_TYPE;
    if (DGifGetRecordType(gif.get(), &record) != GIF_OK) ThrowGifError("bad record", gif->Error);
    switch (record) {
      case EXTENSION_RECORD_TYPE:
        transparent_index = ReadExtension(gif.get(), transparent_index);
        break;
      case IMAGE_DESC_RECORD_TYPE:
        return DecodeFirstFrame(gif.get(), transparent_index, limits);
      case TERMINATE_RECORD_TYPE:
        ThrowCorrupt(kFormat, "file has no image");
      default:
        ThrowCorrupt(kFormat, "unexpected record type " + std::to_string(static_cast<int>(record)));
    }
  }
}

}  // namespace mms::media::internal
