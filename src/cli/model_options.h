// What every command that loads a model reads the same way: --image-pipeline, --threads,
// --precision.
#pragma once

#include "cli/args.h"
#include "engine/precision.h"
#include "models/clip/clip_pipeline.h"
#include "runtime/clip_served_model.h"

#include <memory>
#include <string>

namespace mms::cli {

// --precision fp32|bf16|int8 (default fp32); kInvalidArgument naming the value otherwise.
Precision PrecisionFlag(const Args& args);

models::ClipOptions ClipOptionsFrom(const Args& args);

// When the model runs in another precision than asked (no fast kernel on this CPU), says
// so on stderr, once, after loading.
void ReportPrecisionFallback(const char* command, const models::ClipModel& model);

// The CLIP checkpoint in `dir` loaded as the server loads a model version (batchers,
// instances, memory estimate; no cache), so that the commands run the server's own path.
// `max_batch_size`: the largest batch one call may run as a whole.
std::shared_ptr<runtime::ClipServedModel> LoadClipAsServed(const char* command, const std::string& dir,
                                                           const Args& args, int max_batch_size = 32);

}  // namespace mms::cli
