// `mmserve quantize`: an int8 copy of a checkpoint folder (models/checkpoint_quantizer.h).
#include <cstdio>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "models/checkpoint_quantizer.h"

namespace mms::cli {

int QuantizeCommand(int argc, char** argv) {
  const Args args(argc, argv, 2, {"model", "out", "precision"});
  const std::string precision = args.Get("precision", "int8");
  if (precision != "int8") {
    ThrowInvalidArgument("--precision " + precision +
                         ": quantize writes int8 only (bf16 needs no conversion: load any checkpoint with "
                         "--precision bf16)");
  }
  const std::string in = args.Required("model"), out = args.Required("out");
  const models::QuantizeSummary s = models::QuantizeCheckpoint(in, out);
  std::printf("%s\n", nlohmann::json({{"model", in}, {"out", out}, {"precision", precision}, {"tensors", s.tensors},
                                      {"quantized", s.quantized}, {"bytes", s.bytes}})
                          .dump()
                          .c_str());
  return 0;
}

}  // namespace mms::cli
