#include "cli/model_options.h"

#include <cstdio>

#include "base/error.h"

namespace mms::cli {

Precision PrecisionFlag(const Args& args) {
  const std::string value = args.Get("precision", "fp32");
  Precision p;
  if (!ParsePrecision(value, &p)) ThrowInvalidArgument("--precision " + value + " is not one of fp32, bf16, int8");
  return p;
}

models::ClipOptions ClipOptionsFrom(const Args& args) {
  models::ClipOptions options;
  options.image_pipeline = media::ParseImagePipeline(args.Get("image-pipeline", "hf"));
  options.threads = args.GetInt("threads", 0);
  options.precision = PrecisionFlag(args);
  return options;
}

void ReportPrecisionFallback(const char* command, const models::ClipModel& model) {
  if (!model.precision_note().empty()) std::fprintf(stderr, "mmserve %s: note: %s\n", command, model.precision_note().c_str());
}

}  // namespace mms::cli
