// POST /v1/embeddings bodies: strings, lists, typed parts, data URLs and bare base64.
#include "api/openai_codec.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mms::api::InputLimits limits;
  limits.max_body_bytes = 1 << 20;
  limits.max_image_bytes = 2048;
  limits.max_text_chars = 64;
  limits.max_texts = 8;
  mms::fuzz::ExpectCleanRefusal("ParseEmbeddingsRequest", [&] {
    const auto request = mms::api::openai::ParseEmbeddingsRequest(mms::fuzz::AsText(data, size), limits);
    if (request.inputs.empty()) mms::fuzz::Finding("ParseEmbeddingsRequest", "accepted a request with no input");
    for (const auto& in : request.inputs) {
      if (in.kind == mms::api::openai::EmbeddingInput::Kind::kImage && in.image.size() > limits.max_image_bytes) {
        mms::fuzz::Finding("ParseEmbeddingsRequest", "image over the limit");
      }
    }
  });
  return 0;
}
