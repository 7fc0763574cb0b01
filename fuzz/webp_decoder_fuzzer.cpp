// The WEBP decoder alone (media::internal::DecodeWebp), without format detection.
#include "image_decoder_harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mms::fuzz::FuzzImageDecoder("DecodeWebp", mms::media::internal::DecodeWebp, data, size);
  return 0;
}
