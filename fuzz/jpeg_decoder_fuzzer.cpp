// The JPEG decoder alone (media::internal::DecodeJpeg), without format detection.
#include "image_decoder_harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mms::fuzz::FuzzImageDecoder("DecodeJpeg", mms::media::internal::DecodeJpeg, data, size);
  return 0;
}
