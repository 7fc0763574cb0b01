// Hugging Face JSON configs of a checkpoint: the same bytes read as config.json (CLIP's
// text_config / vision_config through io/json_config's typed fields) and as
// preprocessor_config.json.
#include "fuzz_support.h"
#include "media/clip_preprocess.h"
#include "models/clip/clip_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static mms::fuzz::MemoryFile file;
  const std::string& path = file.Write(mms::fuzz::AsText(data, size));
  mms::fuzz::ExpectCleanRefusal("ClipConfig::FromFile", [&] {
    const auto config = mms::models::ClipConfig::FromFile(path);
    // What the model code divides by and allocates from must have been checked.
    if (config.text.num_heads <= 0 || config.vision.num_heads <= 0 || config.vision.patch_size <= 0 ||
        config.text.hidden_size % config.text.num_heads != 0) {
      mms::fuzz::Finding("ClipConfig::FromFile", "accepted sizes the model cannot use");
    }
  });
  mms::fuzz::ExpectCleanRefusal("PreprocessConfig::FromFile", [&] {
    const auto config = mms::media::PreprocessConfig::FromFile(path);
    if (config.shortest_edge <= 0 || config.crop_height <= 0 || config.crop_width <= 0) {
      mms::fuzz::Finding("PreprocessConfig::FromFile", "accepted a non-positive size");
    }
  });
  return 0;
}
