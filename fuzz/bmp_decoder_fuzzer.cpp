// The BMP decoder alone (media::internal::DecodeBmp), without format detection.
#include "image_decoder_harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mms::fuzz::FuzzImageDecoder("DecodeBmp", mms::media::internal::DecodeBmp, data, size);
  return 0;
}
