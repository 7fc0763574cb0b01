#include "models/whisper/whisper_family.h"

#include "models/whisper/whisper_model.h"

namespace mms::models::whisper {

namespace {

// The decoder as the generation scheduler sees it; the encoder is reached through the
// WhisperModel itself (the speech runtime downcasts).
std::unique_ptr<GenerativeModel> LoadGenerative(const std::string& dir, const GenerativeLoadOptions& options) {
  return WhisperModel::Load(dir, options.precision, options.threads);
}

}  // namespace

FamilyInfo FamilyEntry() {
  return {ModelFamily::kWhisper,
          "whisper",
          SchedulingKind::kTranscription,
          {"whisper"},
          {"WhisperForConditionalGeneration"},
          &LoadGenerative};
}

}  // namespace mms::models::whisper
