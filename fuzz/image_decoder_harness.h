// The body shared by the per-format decoder harnesses: decode with small limits (a
// fuzzer's time is better spent on header and bitstream paths than on filling large
// images), then check what every decoder promises about its result.
#pragma once

#include "fuzz_support.h"
#include "media/format_decoders.h"
#include "media/image.h"

namespace mms::fuzz {

using DecoderFn = media::Image (*)(std::string_view, const media::DecodeLimits&);

inline void FuzzImageDecoder(const char* name, DecoderFn decode, const uint8_t* data, size_t size) {
  media::DecodeLimits limits;
  limits.max_bytes = 1 << 20;
  limits.max_pixels = 1 << 18;  // 512x512; the seeds are far smaller
  ExpectCleanRefusal(name, [&] {
    const media::Image image = decode(AsText(data, size), limits);
    if (!image.IsConsistent()) Finding(name, "decoded image is inconsistent with its size and mode");
    if (image.width <= 0 || image.height <= 0 ||
        static_cast<uint64_t>(image.width) * static_cast<uint64_t>(image.height) > limits.max_pixels) {
      Finding(name, "decoded image size " + std::to_string(image.width) + "x" + std::to_string(image.height) +
                        " breaks the limits");
    }
    // What preprocessing does first with every image. It reads every pixel and palette
    // entry, so a buffer shorter than the image claims shows up under ASan.
    const media::Image rgb = media::ConvertToRGB(image);
    if (rgb.width != image.width || rgb.height != image.height || !rgb.IsConsistent()) {
      Finding(name, "ConvertToRGB changed the size or broke consistency");
    }
  });
}

}  // namespace mms::fuzz
