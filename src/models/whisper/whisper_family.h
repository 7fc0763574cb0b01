// The Whisper family's entry in the model-family registry (models/model_family.cpp):
// WhisperForConditionalGeneration checkpoints, served by transcription scheduling (audio
// windows encoded in batches, their decodings run as generation sequences).
#pragma once

#include "models/model_family.h"

namespace mms::models::whisper {

FamilyInfo FamilyEntry();

}  // namespace mms::models::whisper
