// The LLaVA family's entry in the model-family registry (models/model_family.cpp).
#pragma once

#include "models/model_family.h"

namespace mms::models::llava {

FamilyInfo FamilyEntry();

}  // namespace mms::models::llava
