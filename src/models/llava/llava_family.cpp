#include "models/llava/llava_family.h"

#include "models/llava/llava_model.h"

namespace mms::models::llava {

namespace {

std::unique_ptr<GenerativeModel> LoadGenerative(const std::string& dir, const GenerativeLoadOptions& options) {
  return LlavaModel::Load(dir, options.precision, options.threads);
}

}  // namespace

FamilyInfo FamilyEntry() {
  return {ModelFamily::kLlava, "llava", SchedulingKind::kGeneration, {"llava"}, {"LlavaForConditionalGeneration"},
          &LoadGenerative};
}

}  // namespace mms::models::llava
