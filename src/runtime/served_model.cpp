#include "runtime/served_model.h"

#include "base/error.h"
#include "runtime/clip_served_model.h"
#include "runtime/generative_served_model.h"

namespace mms::runtime {

namespace {

const models::FamilyInfo& FamilyFor(const std::string& dir, const io::ModelConfig& config) {
  // config.pbtxt's backend decides when it names one; the checkpoint's config.json must
  // still be one mmserve serves.
  const models::ModelFamily detected = models::DetectModelFamily(dir);
  if (!config.backend.empty()) {
    const models::ModelFamily named = models::ParseModelFamily(config.backend);
    if (named != detected) {
      ThrowInvalidModel("config.pbtxt names backend \"" + config.backend + "\" but " + dir +
                        "/config.json describes a " + models::ModelFamilyName(detected) + " model");
    }
  }
  return models::FamilyOf(detected);
}

}  // namespace

std::shared_ptr<ServedModel> ServedModel::Load(const std::string& name, int64_t version, const std::string& dir,
                                               const io::ModelConfig& config, const ServingDefaults& defaults) {
  const models::FamilyInfo& family = FamilyFor(dir, config);
  switch (family.scheduling) {
    case models::SchedulingKind::kEncoderBatching:
      return ClipServedModel::Load(name, version, dir, config, defaults);
    case models::SchedulingKind::kGeneration:
    case models::SchedulingKind::kTranscription:  // the decoder's sequences run on the generation scheduler
      return GenerativeServedModel::Load(name, version, dir, config, defaults, family);
  }
  ThrowInternal("unknown scheduling kind");
}

uint64_t ServedModel::MemoryToLoad(const std::string& dir, const io::ModelConfig& config,
                                   const ServingDefaults& defaults) {
  const models::FamilyInfo& family = FamilyFor(dir, config);
  if (family.scheduling == models::SchedulingKind::kGeneration ||
      family.scheduling == models::SchedulingKind::kTranscription) {
    return GenerativeServedModel::MemoryToLoad(dir, config, defaults);
  }
  return ClipServedModel::MemoryToLoad(dir, config, defaults);
}

}  // namespace mms::runtime
