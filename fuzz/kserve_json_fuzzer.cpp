// KServe v2 inference request bodies without Inference-Header-Content-Length: the whole
// input is the JSON request (inputs, outputs, parameters, base64 images).
#include "api/kserve_codec.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Small limits so that the limit checks are reached by inputs of fuzzing size.
  mms::api::InputLimits limits;
  limits.max_body_bytes = 1 << 20;
  limits.max_image_bytes = 2048;
  limits.max_text_chars = 64;
  limits.max_texts = 8;
  mms::fuzz::ExpectCleanRefusal("ParseInferRequest (JSON)", [&] {
    const auto request = mms::api::kserve::ParseInferRequest(mms::fuzz::AsText(data, size), std::nullopt, limits);
    if (request.images && request.images->empty()) mms::fuzz::Finding("ParseInferRequest", "IMAGE with no elements");
    if (request.texts && request.texts->size() > limits.max_texts) {
      mms::fuzz::Finding("ParseInferRequest", "more texts than max_texts");
    }
  });
  return 0;
}
