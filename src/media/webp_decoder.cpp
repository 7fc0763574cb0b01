// WebP through libwebp's animation decoder, as Pillow does for every WebP file: the first
// frame composed on the canvas in straight (non-premultiplied) RGBA. The image is "RGBA"
// when the file declares alpha and "RGB" otherwise.
#include <webp/decode.h>
#include <webp/demux.h>

#include <cstring>
#include <memory>
#include <string>

#include "media/format_decoders.h"

namespace mms::media::internal {
namespace {

constexpr const char* kFormat = "WebP";

struct AnimDecoderDeleter {
  void operator()(WebPAnimDecoder* decoder) const { WebPAnimDecoderDelete(decoder); }
};

}  // namespace

Image DecodeWebp(std::string_view bytes, const DecodeLimits& limits) {
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  WebPBitstreamFeatures features{};
  const VP8StatusCode status = WebPGetFeatures(data, bytes.size(), &features);
  if (status != VP8_STATUS_OK) ThrowCorrupt(kFormat, "bad header (libwebp status " + std::to_string(status) + ")");
  // For extended files these are the canvas size; the decoder allocates the canvas up
  // front, so the limit is checked before creating it.
  CheckDimensions(kFormat, features.width, features.height, limits);

  WebPAnimDecoderOptions options;
  if (!WebPAnimDecoderOptionsInit(&options)) ThrowCorrupt(kFormat, "libwebp version mismatch");
  options.color_mode = MODE_RGBA;
  options.use_threads = 0;
  const WebPData webp_data{data, bytes.size()};
  std::unique_ptr<WebPAnimDecoder, AnimDecoderDeleter> decoder(WebPAnimDecoderNew(&webp_data, &options));
  if (!decoder) ThrowCorrupt(kFormat, "cannot parse file (corrupt or truncated)");
  WebPAnimInfo info{};
  if (!WebPAnimDecoderGetInfo(decoder.get(), &info)) ThrowCorrupt(kFormat, "cannot read canvas info");
  CheckDimensions(kFormat, info.canvas_width, info.canvas_height, limits);

  uint8_t* rgba = nullptr;
  int timestamp = 0;
  if (!WebPAnimDecoderGetNext(decoder.get(), &rgba, &timestamp) || rgba == nullptr) {
    ThrowCorrupt(kFormat, "decoding failed (corrupt or truncated)");
  }
  const int width = static_cast<int>(info.canvas_width);
  const int height = static_cast<int>(info.canvas_height);
  Image image(features.has_alpha ? ImageMode::kRGBA : ImageMode::kRGB, width, height);
  if (image.mode == ImageMode::kRGBA) {
    std::memcpy(image.pixels.data(), rgba, image.pixels.size());
  } else {
    const size_t count = static_cast<size_t>(width) * height;
    uint8_t* out = image.pixels.data();
    for (size_t i = 0; i < count; ++i, rgba += 4, out += 3) std::memcpy(out, rgba, 3);
  }
  return image;
}

}  // namespace mms::media::internal
