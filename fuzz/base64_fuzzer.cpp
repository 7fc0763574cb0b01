// Base64 decoding of client strings (KServe JSON images, OpenAI data URLs, JWT parts),
// with the round trips that must hold: decode(encode(x)) == x for any bytes, and a
// successful decode re-encodes to something that decodes to the same bytes.
#include "base/base64.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input = mms::fuzz::AsText(data, size);
  std::string error;
  const auto decoded = mms::Base64Decode(input, &error);
  if (decoded) {
    if (decoded->size() > size) mms::fuzz::Finding("Base64Decode", "decoded more bytes than it was given");
    const auto again = mms::Base64Decode(mms::Base64Encode(*decoded));
    if (!again || *again != *decoded) mms::fuzz::Finding("Base64Decode", "re-encoding does not round-trip");
  } else if (error.empty()) {
    mms::fuzz::Finding("Base64Decode", "refused without saying why");
  }
  const auto round_trip = mms::Base64Decode(mms::Base64Encode(input));
  if (!round_trip || *round_trip != input) mms::fuzz::Finding("Base64Encode", "decode(encode(x)) != x");
  return 0;
}
