// PreprocessConfig from preprocessor_config.json (transformers' CLIPImageProcessor keys).
#include <string>

#include "base/error.h"
#include "base/file_util.h"
#include "base/json_brief.h"
#include "media/clip_preprocess.h"

namespace mms::media {
namespace {

using nlohmann::json;

[[noreturn]] void ThrowField(const std::string& field, const std::string& problem) {
  ThrowInvalidModel("preprocessor_config: field '" + field + "' " + problem);
}

int ReadPositiveInt(const json& value, const std::string& field) {
  if (!value.is_number_integer()) ThrowField(field, "must be an integer, got " + BriefJson(value));
  const int64_t v = value.get<int64_t>();
  if (v <= 0 || v > 1 << 16) ThrowField(field, "must be a positive size, got " + BriefJson(value));
  return static_cast<int>(v);
}

void ReadBool(const json& j, const char* field, bool* out) {
  if (!j.contains(field)) return;
  const json& value = j.at(field);
  if (!value.is_boolean()) ThrowField(field, "must be true or false, got " + BriefJson(value));
  *out = value.get<bool>();
}

void ReadTriple(const json& j, const char* field, float out[3]) {
  if (!j.contains(field)) return;
  const json& value = j.at(field);
  if (!value.is_array() || value.size() != 3) ThrowField(field, "must be an array of 3 numbers, got " + BriefJson(value));
  for (int c = 0; c < 3; ++c) {
    if (!value[c].is_number()) ThrowField(field, "must be an array of 3 numbers, got " + BriefJson(value));
    out[c] = value[c].get<float>();
  }
}

// "size": 224 | {"shortest_edge": 224}.
void ReadSize(const json& j, PreprocessConfig* config) {
  if (!j.contains("size")) return;
  const json& size = j.at("size");
  if (size.is_number()) {
    config->shortest_edge = ReadPositiveInt(size, "size");
    return;
  }
  if (!size.is_object()) ThrowField("size", "must be an integer or an object, got " + BriefJson(size));
  if (size.contains("shortest_edge")) {
    config->shortest_edge = ReadPositiveInt(size.at("shortest_edge"), "size.shortest_edge");
    return;
  }
  if (size.contains("height") || size.contains("width")) {
    ThrowField("size", "gives height/width (resize to a fixed shape), only shortest_edge is supported");
  }
  ThrowField("size", "has no shortest_edge: " + BriefJson(size));
}

// "crop_size": 224 | {"height": 224, "width": 224}.
void ReadCropSize(const json& j, PreprocessConfig* config) {
  if (!j.contains("crop_size")) return;
  const json& crop = j.at("crop_size");
  if (crop.is_number()) {
    config->crop_height = config->crop_width = ReadPositiveInt(crop, "crop_size");
    return;
  }
  if (!crop.is_object() || !crop.contains("height") || !crop.contains("width")) {
    ThrowField("crop_size", "must be an integer or {\"height\", \"width\"}, got " + BriefJson(crop));
  }
  config->crop_height = ReadPositiveInt(crop.at("height"), "crop_size.height");
  config->crop_width = ReadPositiveInt(crop.at("width"), "crop_size.width");
}

}  // namespace

PreprocessConfig PreprocessConfig::FromJson(const json& j) {
  if (!j.is_object()) ThrowInvalidModel("preprocessor_config: expected a JSON object");
  PreprocessConfig config;
  ReadSize(j, &config);
  ReadCropSize(j, &config);
  ReadBool(j, "do_resize", &config.do_resize);
  ReadBool(j, "do_center_crop", &config.do_center_crop);
  ReadBool(j, "do_rescale", &config.do_rescale);
  ReadBool(j, "do_normalize", &config.do_normalize);
  ReadBool(j, "do_convert_rgb", &config.do_convert_rgb);
  if (j.contains("rescale_factor")) {
    const json& value = j.at("rescale_factor");
    if (!value.is_number()) ThrowField("rescale_factor", "must be a number, got " + BriefJson(value));
    config.rescale_factor = value.get<float>();
  }
  ReadTriple(j, "image_mean", config.mean);
  ReadTriple(j, "image_std", config.std);
  for (int c = 0; c < 3; ++c) {
    if (!(config.std[c] != 0.0f)) ThrowField("image_std", "must not contain zero");
  }
  // PILImageResampling.BICUBIC == 3 is the only filter the resizer implements.
  if (j.contains("resample")) {
    const json& value = j.at("resample");
    if (!value.is_number_integer()) ThrowField("resample", "must be an integer, got " + BriefJson(value));
    if (value.get<int64_t>() != 3) ThrowField("resample", "is " + BriefJson(value) + "; only 3 (bicubic) is supported");
  }
  return config;
}

PreprocessConfig PreprocessConfig::FromFile(const std::string& path) {
  const std::string text = ReadFileBytes(path);
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    ThrowInvalidModel(path + ": not valid JSON: " + e.what());
  }
  try {
    return FromJson(j);
  } catch (const Error& e) {
    throw Error(e.code(), path + ": " + e.what());
  }
}

}  // namespace mms::media
