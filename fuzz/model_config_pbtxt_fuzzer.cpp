// Triton-style config.pbtxt: the protobuf text syntax reader and the schema on top of it,
// then the config written back as the /v2/models/{m}/config JSON the server returns.
#include "fuzz_support.h"
#include "io/model_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mms::fuzz::ExpectCleanRefusal("ParseModelConfig", [&] {
    const auto config = mms::io::ParseModelConfig(mms::fuzz::AsText(data, size), "config.pbtxt");
    if (config.instance_count < 1) mms::fuzz::Finding("ParseModelConfig", "accepted an instance count below 1");
    // Strings from the file may be any bytes; the JSON must still be writable.
    (void)mms::io::ModelConfigToJson(config).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  });
  return 0;
}
