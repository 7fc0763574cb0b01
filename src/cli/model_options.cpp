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

std::shared_ptr<runtime::ClipServedModel> LoadClipAsServed(const char* command, const std::string& dir,
                                                           const Args& args, int max_batch_size) {
  runtime::ServingDefaults defaults;
  defaults.clip = ClipOptionsFrom(args);
  defaults.max_batch_size = max_batch_size;
  io::ModelConfig config;  // as a folder without config.pbtxt: one batch per call, no waiting for others
  config.max_batch_size = max_batch_size;
  auto model = runtime::ClipServedModel::Load("cli", 1, dir, config, defaults);
  ReportPrecisionFallback(command, model->pipeline().model());
  return model;
}

void ReportPrecisionFallback(const char* command, const models::ClipModel& model) {
  if (!model.precision_note().empty()) std::fprintf(stderr, "mmserve %s: note: %s\n", command, model.precision_note().c_str());
}

}  // namespace mms::cli
