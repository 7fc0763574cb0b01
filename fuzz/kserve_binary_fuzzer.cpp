// KServe v2 inference requests with Triton's binary tensor data extension. The input is
// "<Inference-Header-Content-Length value>\n<body>": the header's text comes first so
// that its own parsing (digits, overflow, a length past the body) is fuzzed too, and the
// seeds stay readable.
#include "api/kserve_codec.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input = mms::fuzz::AsText(data, size);
  const size_t newline = input.find('\n');
  if (newline == std::string_view::npos) return 0;
  const std::string_view header_length = input.substr(0, newline), body = input.substr(newline + 1);
  mms::api::InputLimits limits;
  limits.max_body_bytes = 1 << 20;
  limits.max_image_bytes = 2048;
  limits.max_text_chars = 64;
  limits.max_texts = 8;
  mms::fuzz::ExpectCleanRefusal("ParseInferRequest (binary)", [&] {
    const auto request = mms::api::kserve::ParseInferRequest(body, header_length, limits);
    if (request.images) {
      for (const auto& image : *request.images) {
        if (image.size() > limits.max_image_bytes) mms::fuzz::Finding("ParseInferRequest", "image over the limit");
      }
    }
  });
  return 0;
}
