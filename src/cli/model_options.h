// What every command that loads a model reads the same way: --image-pipeline, --threads,
// --precision.
#pragma once

#include "cli/args.h"
#include "engine/precision.h"
#include "models/clip/clip_pipeline.h"

namespace mms::cli {

// --precision fp32|bf16|int8 (default fp32); kInvalidArgument naming the value otherwise.
Precision PrecisionFlag(const Args& args);

models::ClipOptions ClipOptionsFrom(const Args& args);

// When the model runs in another precision than asked (no fast kernel on this CPU), says
// so on stderr, once, after loading.
void ReportPrecisionFallback(const char* command, const models::ClipModel& model);

}  // namespace mms::cli
