// The GIF decoder alone (media::internal::DecodeGif), without format detection.
#include "image_decoder_harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mms::fuzz::FuzzImageDecoder("DecodeGif", mms::media::internal::DecodeGif, data, size);
  return 0;
}
