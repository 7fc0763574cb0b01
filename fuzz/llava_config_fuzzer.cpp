// config.json of a LLaVA model (LlavaConfig::FromFile): any bytes must be refused with a
// clean kInvalidModel, and whatever is accepted must describe a tower, a feature layer and
// image positions the model code can run: the feature layer within the tower, as many
// positions per image as the tower gives, the placeholder inside the vocabulary.
#include "fuzz_support.h"
#include "models/llava/llava_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static mms::fuzz::MemoryFile file;
  const std::string& path = file.Write(mms::fuzz::AsText(data, size));
  mms::fuzz::ExpectCleanRefusal("LlavaConfig::FromFile", [&] {
    const auto c = mms::models::LlavaConfig::FromFile(path);
    if (c.vision_feature_layer < 0 || c.vision_feature_layer > c.vision.num_layers) {
      mms::fuzz::Finding("LlavaConfig::FromFile", "accepted a feature layer outside the tower");
    }
    const int64_t patches = c.vision.num_patches();
    if (c.image_seq_length != patches && c.image_seq_length != patches + 1) {
      mms::fuzz::Finding("LlavaConfig::FromFile", "accepted image positions the tower does not give");
    }
    if (c.image_token_id < 0 || c.image_token_id >= c.text.vocab_size) {
      mms::fuzz::Finding("LlavaConfig::FromFile", "accepted an image token outside the vocabulary");
    }
    if (c.image_seq_length >= c.text.max_position_embeddings) {
      mms::fuzz::Finding("LlavaConfig::FromFile", "accepted an image longer than the context");
    }
  });
  return 0;
}
