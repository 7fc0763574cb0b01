#include "media/clip_preprocess.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "base/error.h"
#include "media/resample.h"

namespace mms::media {

using internal::Rect;

ImagePipeline ParseImagePipeline(std::string_view name) {
  if (name == "hf") return ImagePipeline::kHuggingFace;
  if (name == "openai") return ImagePipeline::kOpenAI;
  ThrowInvalidArgument("unknown image preprocessing pipeline '" + std::string(name) + "' (expected \"hf\" or \"openai\")");
}

namespace {

// Both references size the resize the same way: short side -> shortest_edge, long side
// int(shortest_edge * long / short). Python's true division is correctly rounded and a
// non-integer quotient is at least 1/short away from an integer, so int() of it equals
// the integer floor division used here.
void ResizedSize(int width, int height, int shortest_edge, int* out_width, int* out_height) {
  const bool portrait = width <= height;
  const int64_t short_side = portrait ? width : height;
  const int64_t long_side = portrait ? height : width;
  const int64_t new_long = static_cast<int64_t>(shortest_edge) * long_side / short_side;
  if (new_long > (1 << 30)) ThrowInvalidArgument("image aspect ratio too extreme to resize");
  *out_width = portrait ? shortest_edge : static_cast<int>(new_long);
  *out_height = portrait ? static_cast<int>(new_long) : shortest_edge;
}

// transformers' center_crop: top = (size - crop) // 2 (floor). Where the crop is larger,
// it zero-pads by ceil((crop - size) / 2) first, which lands on the same offset.
int HuggingFaceCropOffset(int size, int crop) {
  const int excess = size - crop;
  return excess >= 0 ? excess / 2 : -((-excess + 1) / 2);
}

// torchvision's center_crop: int(round((size - crop) / 2.0)), Python's round (half to
// even); where the crop is larger it pads by (crop - size) // 2 on the top/left first.
int OpenAICropOffset(int size, int crop) {
  if (crop > size) return -((crop - size) / 2);
  const int excess = size - crop;
  const int half = excess / 2;
  return (excess % 2 == 1 && half % 2 == 1) ? half + 1 : half;
}

// The part of the resized image that the crop covers (the rest of the crop is padding).
Image ResizeWindow(const Image& source, int out_width, int out_height, const Rect& window) {
  if (out_width == source.width && out_height == source.height) {
    // PIL's resize returns a plain copy when the size does not change: no resampling,
    // and no premultiply round trip for RGBA.
    Image out(source.mode, window.width, window.height);
    out.palette = source.palette;
    const int bpp = BytesPerPixel(source.mode);
    for (int y = 0; y < window.height; ++y) {
      std::memcpy(out.Row(y), source.Row(window.y + y) + static_cast<size_t>(window.x) * bpp, out.stride());
    }
    return out;
  }
  if (source.mode == ImageMode::kP || source.mode == ImageMode::kBilevel) {
    return internal::ResizeNearest(source, out_width, out_height, window);  // PIL forces NEAREST
  }
  if (source.mode == ImageMode::kRGBA || source.mode == ImageMode::kLA) {
    // PIL resizes RGBA / LA as premultiplied RGBa / La so transparent colours do not bleed.
    Image premultiplied = source;
    internal::PremultiplyAlpha(&premultiplied);
    Image out = internal::ResizeBicubic(premultiplied, out_width, out_height, window);
    internal::UnpremultiplyAlpha(&out);
    return out;
  }
  return internal::ResizeBicubic(source, out_width, out_height, window);
}

// value(channel, byte) of the float stage, as a table: 3 x 256 floats.
// hf (numpy): float32(byte * rescale_factor in float64), then (x - mean) / std in float32.
// openai (torch): float32(byte) / 255, then (x - mean) / std in float32.
std::vector<float> NormalizationTable(const PreprocessConfig& config, ImagePipeline pipeline) {
  // The checkpoint's 0.00392156862745098 reaches us as a float; recover the exact 1/255.
  const bool is_one_over_255 = config.rescale_factor == 1.0f / 255;
  const double rescale = is_one_over_255 ? 1.0 / 255 : static_cast<double>(config.rescale_factor);
  std::vector<float> table(3 * 256);
  for (int c = 0; c < 3; ++c) {
    for (int v = 0; v < 256; ++v) {
      float x = static_cast<float>(v);
      if (config.do_rescale) {
        if (pipeline == ImagePipeline::kOpenAI && is_one_over_255) {
          x = static_cast<float>(v) / 255.0f;
        } else {
          x = static_cast<float>(v * rescale);
        }
      }
      if (config.do_normalize) x = (x - config.mean[c]) / config.std[c];
      table[c * 256 + v] = x;
    }
  }
  return table;
}

}  // namespace

void PreprocessImage(const Image& image, const PreprocessConfig& config, ImagePipeline pipeline, float* out) {
  if (image.width <= 0 || image.height <= 0) ThrowInvalidArgument("preprocess: empty image");
  if (!image.IsConsistent()) ThrowInvalidArgument("preprocess: image buffers do not match its size and mode");
  if (out == nullptr) ThrowInvalidArgument("preprocess: no output buffer");

  // hf converts to RGB before anything else; openai keeps the mode until after the crop.
  Image rgb;
  const Image* source = &image;
  if (pipeline == ImagePipeline::kHuggingFace && image.mode != ImageMode::kRGB) {
    rgb = ConvertToRGB(image);
    source = &rgb;
  }

  int resized_width = source->width, resized_height = source->height;
  if (config.do_resize) ResizedSize(source->width, source->height, config.shortest_edge, &resized_width, &resized_height);

  const int crop_width = config.crop_width, crop_height = config.crop_height;
  int crop_x = 0, crop_y = 0;
  if (config.do_center_crop) {
    const bool hf = pipeline == ImagePipeline::kHuggingFace;
    crop_x = hf ? HuggingFaceCropOffset(resized_width, crop_width) : OpenAICropOffset(resized_width, crop_width);
    crop_y = hf ? HuggingFaceCropOffset(resized_height, crop_height) : OpenAICropOffset(resized_height, crop_height);
  } else if (resized_width != crop_width || resized_height != crop_height) {
    ThrowInvalidArgument("preprocess: do_center_crop is off but the resized image is " + std::to_string(resized_width) +
                         "x" + std::to_string(resized_height) + ", not the model's " + std::to_string(crop_width) + "x" +
                         std::to_string(crop_height));
  }

  // The crop in the source mode, zero where it extends past the resized image (index 0
  // for "P", as PIL's crop and torchvision's pad fill).
  Image cropped(source->mode, crop_width, crop_height);
  if (source->mode == ImageMode::kP) cropped.palette = source->palette;
  Rect visible;
  visible.x = std::max(crop_x, 0);
  visible.y = std::max(crop_y, 0);
  visible.width = std::min(crop_x + crop_width, resized_width) - visible.x;
  visible.height = std::min(crop_y + crop_height, resized_height) - visible.y;
  if (visible.width > 0 && visible.height > 0) {
    const Image window = ResizeWindow(*source, resized_width, resized_height, visible);
    const int bpp = BytesPerPixel(source->mode);
    for (int y = 0; y < visible.height; ++y) {
      std::memcpy(cropped.Row(visible.y - crop_y + y) + static_cast<size_t>(visible.x - crop_x) * bpp, window.Row(y),
                  window.stride());
    }
  }

  // convert("RGB") row by row, then the float stage into planar CHW.
  const std::vector<float> table = NormalizationTable(config, pipeline);
  const size_t plane = static_cast<size_t>(crop_width) * crop_height;
  std::vector<uint8_t> rgb_row(static_cast<size_t>(crop_width) * 3);
  for (int y = 0; y < crop_height; ++y) {
    ConvertRowToRGB(cropped, y, 0, crop_width, rgb_row.data());
    for (int c = 0; c < 3; ++c) {
      const float* lut = &table[c * 256];
      float* dst = out + c * plane + static_cast<size_t>(y) * crop_width;
      for (int x = 0; x < crop_width; ++x) dst[x] = lut[rgb_row[3 * x + c]];
    }
  }
}

}  // namespace mms::media
