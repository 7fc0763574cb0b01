// multipart/form-data bodies (/predict). The input is "<Content-Type value>\n<body>": the
// boundary comes from the fuzzed Content-Type as the server takes it, so both the
// parameter parsing and the body parser see hostile bytes. Parts must point into the body.
#include "api/multipart.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input = mms::fuzz::AsText(data, size);
  const size_t newline = input.find('\n');
  if (newline == std::string_view::npos) return 0;
  const std::string_view content_type = input.substr(0, newline), body = input.substr(newline + 1);
  mms::api::MultipartLimits limits;
  limits.max_parts = 8;
  limits.max_header_bytes = 512;
  mms::fuzz::ExpectCleanRefusal("ParseMultipart", [&] {
    const auto boundary = mms::api::MultipartBoundary(content_type);
    if (!boundary) return;
    const auto parts = mms::api::ParseMultipart(body, *boundary, limits);
    if (parts.size() > limits.max_parts) mms::fuzz::Finding("ParseMultipart", "more parts than the limit");
    for (const auto& part : parts) {
      const char* begin = part.content.data();
      if (begin < body.data() || begin + part.content.size() > body.data() + body.size()) {
        mms::fuzz::Finding("ParseMultipart", "a part's content lies outside the body");
      }
    }
  });
  return 0;
}
