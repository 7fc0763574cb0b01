// JPEG through TurboJPEG, set up to produce the pixels PIL gets from libjpeg.
//
// PIL decodes with libjpeg's defaults: the accurate integer IDCT (JDCT_ISLOW) and "fancy"
// (triangle-filter) chroma upsampling, with libjpeg doing the YCbCr -> RGB conversion.
// TurboJPEG with no flags uses exactly those, so the output matches PIL byte for byte.
// EXIF orientation is ignored, as PIL's Image.open does (and as the CLIP reference does).
#include <turbojpeg.h>

#include <memory>
#include <string>

#include "media/format_decoders.h"

namespace mms::media::internal {
namespace {

constexpr const char* kFormat = "JPEG";

struct TjHandleDeleter {
  void operator()(void* handle) const { tjDestroy(handle); }
};
using TjHandle = std::unique_ptr<void, TjHandleDeleter>;

}  // namespace

Image DecodeJpeg(std::string_view bytes, const DecodeLimits& limits) {
  TjHandle handle(tjInitDecompress());
  if (!handle) ThrowCorrupt(kFormat, std::string("cannot create decoder: ") + tjGetErrorStr2(nullptr));

  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  const auto size = static_cast<unsigned long>(bytes.size());
  int width = 0, height = 0, subsampling = 0, colorspace = 0;
  if (tjDecompressHeader3(handle.get(), data, size, &width, &height, &subsampling, &colorspace) != 0) {
    ThrowCorrupt(kFormat, std::string("bad header: ") + tjGetErrorStr2(handle.get()));
  }
  CheckDimensions(kFormat, width, height, limits);

  // PIL: 1 component -> "L", 3 -> "RGB", 4 -> "CMYK" (read with rawmode "CMYK;I").
  ImageMode mode = ImageMode::kRGB;
  int pixel_format = TJPF_RGB;
  if (colorspace == TJCS_GRAY) {
    mode = ImageMode::kL;
    pixel_format = TJPF_GRAY;
  } else if (colorspace == TJCS_CMYK || colorspace == TJCS_YCCK) {
    mode = ImageMode::kCMYK;
    pixel_format = TJPF_CMYK;
  }

  Image image(mode, width, height);
  if (tjDecompress2(handle.get(), data, size, image.pixels.data(), width, 0, height, pixel_format, 0) != 0) {
    const std::string message = tjGetErrorStr2(handle.get());
    // Warnings leave a complete image behind, and PIL accepts such files (libjpeg's
    // warnings are silent there) -- except running out of data, where PIL reports the
    // file as truncated. libjpeg signals that with the "Premature end of JPEG file" warning.
    const bool is_warning = tjGetErrorCode(handle.get()) == TJERR_WARNING;
    if (!is_warning || message.find("Premature end of JPEG file") != std::string::npos) {
      ThrowCorrupt(kFormat, "decoding failed: " + message);
    }
  }
  if (mode == ImageMode::kCMYK) {
    // PIL assumes Adobe's convention and stores the inverse of what libjpeg returns.
    for (uint8_t& v : image.pixels) v = static_cast<uint8_t>(255 - v);
  }
  return image;
}

}  // namespace mms::media::internal
