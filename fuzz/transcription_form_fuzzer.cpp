// The audio API's multipart form (/v1/audio/transcriptions, /translations): the input is
// "<Content-Type value>\n<body>" as the server takes them. Any bytes must end in a clean
// refusal; an accepted form must name a model, carry a non-empty file within the byte
// limit that points into the body, and options inside the ranges the transcriber checks.
#include <cmath>

#include "api/multipart.h"
#include "api/transcription_format.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input = mms::fuzz::AsText(data, size);
  const size_t newline = input.find('\n');
  if (newline == std::string_view::npos) return 0;
  const std::string_view content_type = input.substr(0, newline), body = input.substr(newline + 1);
  constexpr size_t kMaxFile = 4096;
  mms::fuzz::ExpectCleanRefusal("ParseTranscriptionForm", [&] {
    const auto boundary = mms::api::MultipartBoundary(content_type);
    if (!boundary) return;
    const auto parts = mms::api::ParseMultipart(body, *boundary);
    const auto r = mms::api::openai::ParseTranscriptionForm(parts, (size & 1) != 0, kMaxFile);
    if (r.model.empty()) mms::fuzz::Finding("ParseTranscriptionForm", "accepted a form without a model");
    if (r.file.empty() || r.file.size() > kMaxFile) {
      mms::fuzz::Finding("ParseTranscriptionForm", "accepted an empty file or one over the limit");
    }
    if (r.file.data() < body.data() || r.file.data() + r.file.size() > body.data() + body.size()) {
      mms::fuzz::Finding("ParseTranscriptionForm", "the file lies outside the body");
    }
    if (!std::isfinite(r.options.temperature) || !std::isfinite(r.options.temperature_increment)) {
      mms::fuzz::Finding("ParseTranscriptionForm", "accepted a non-finite temperature");
    }
    // Every format renders, whatever the options were.
    mms::speech::Transcript t;
    t.text = std::string(r.options.initial_prompt);
    mms::api::openai::FormatTranscript(t, r.format, r.options.translate);
  });
  return 0;
}
