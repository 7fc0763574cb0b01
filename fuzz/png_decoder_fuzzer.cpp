// The PNG decoder alone (media::internal::DecodePng), without format detection.
#include "image_decoder_harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mms::fuzz::FuzzImageDecoder("DecodePng", mms::media::internal::DecodePng, data, size);
  return 0;
}
