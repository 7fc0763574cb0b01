// CLIP image preprocessing, matching the two reference implementations exactly:
//
//  kHuggingFace ("hf"): transformers' CLIPImageProcessor. Convert to RGB (alpha dropped),
//    resize the shortest edge to `shortest_edge` with PIL bicubic (long edge
//    int(shortest_edge * long / short)), centre crop with offsets floor((size - crop) / 2)
//    (zero padding where the crop is larger), rescale, normalize.
//  kOpenAI ("openai"): OpenAI CLIP's preprocess (torchvision on PIL images). Resize the
//    image in its own mode -- RGBA / LA with premultiplied alpha, "P" and "1"
//    nearest-neighbour, "L" and "I;16" on their single channel -- centre crop with offsets
//    round((size - crop) / 2) (half to even; torchvision's zero padding where the crop is
//    larger), then convert to RGB, rescale, normalize.
//
// Both give PIL's pixels bit for bit (see resample.h); the float stage follows numpy /
// torch float32 arithmetic.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "media/image.h"

namespace mms::media {

enum class ImagePipeline { kHuggingFace, kOpenAI };

// "hf" | "openai"; anything else -> Error(kInvalidArgument).
ImagePipeline ParseImagePipeline(std::string_view name);

// preprocessor_config.json of a CLIP checkpoint. Defaults are CLIPImageProcessor's.
struct PreprocessConfig {
  int shortest_edge = 224;
  int crop_height = 224;
  int crop_width = 224;
  bool do_resize = true;
  bool do_center_crop = true;
  bool do_rescale = true;
  bool do_normalize = true;
  // Parsed for completeness; the model needs 3 channels, so both pipelines always end in
  // PIL's convert("RGB") (hf converts first, as it does with the flag set).
  bool do_convert_rgb = true;
  float rescale_factor = 1.0f / 255;
  float mean[3] = {0.48145466f, 0.4578275f, 0.40821073f};
  float std[3] = {0.26862954f, 0.26130258f, 0.27577711f};

  // Accepts the old form ("size": 224, "crop_size": 224) and the new one
  // ("size": {"shortest_edge": 224}, "crop_size": {"height": 224, "width": 224}).
  // Missing fields keep their defaults. A field of the wrong type or value, a size given
  // as height/width (a different resize), or a "resample" other than 3 (bicubic)
  // -> Error(kInvalidModel) naming the field.
  static PreprocessConfig FromJson(const nlohmann::json& j);
  // Reads and parses the file: missing -> kNotFound, bad JSON or fields -> kInvalidModel.
  static PreprocessConfig FromFile(const std::string& path);
};

// Writes 3 x crop_height x crop_width floats (CHW, RGB, normalized) into `out`.
// With do_center_crop false the resized image must already have the crop size
// (otherwise Error(kInvalidArgument): the model's input size is fixed).
void PreprocessImage(const Image& image, const PreprocessConfig& config, ImagePipeline pipeline, float* out);

}  // namespace mms::media
