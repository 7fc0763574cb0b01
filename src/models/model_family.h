// The one place that knows which model families exist and how a checkpoint names its
// family (config.json's model_type / architectures).
#pragma once

#include <string>

namespace mms::models {

enum class ModelFamily { kClip };

const char* ModelFamilyName(ModelFamily family);
// Reads <checkpoint_dir>/config.json; an unknown family is Error(kInvalidModel) naming it.
ModelFamily DetectModelFamily(const std::string& checkpoint_dir);
// "clip" -> kClip (the `backend` names of config.pbtxt); kInvalidModel otherwise.
ModelFamily ParseModelFamily(const std::string& name);

}  // namespace mms::models
